package domain

// MaxItemIDLen is the longest Exchange item or attachment id a route
// takes in its path. EWS ids (standard base64, occurrence ids included)
// and Graph ids (URL-safe base64) are a few hundred characters; the bound
// keeps a hostile path from reaching Exchange or the store.
const MaxItemIDLen = 1024

// ValidateItemID checks an Exchange item or attachment id from a path
// (field names it in the error): 1 to MaxItemIDLen characters of base64
// or URL-safe base64. Nothing else is an id Exchange gave.
func ValidateItemID(field, id string) *Error {
	what := "item id"
	if field == "attachmentId" {
		what = "attachment id"
	}
	if id == "" || len(id) > MaxItemIDLen {
		return Invalid(field, "%s must be an Exchange %s from the feed or a listing: 1 to %d characters", field, what, MaxItemIDLen)
	}
	if !idChars(id) {
		return Invalid(field, "%s must be an Exchange %s from the feed or a listing (A-Z, a-z, 0-9 and + / = _ -; percent-encode / and + in the path)", field, what)
	}
	return nil
}

// idChars reports whether id is all characters of base64 (EWS ids) or
// URL-safe base64 (Graph ids).
func idChars(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
