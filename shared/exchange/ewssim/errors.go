package ewssim

// ewsError is an EWS ResponseCode with its message text.
type ewsError struct {
	code    string
	text    string
	warning bool
}

func (e *ewsError) Error() string { return e.code + ": " + e.text }

func ewsErr(code, text string) *ewsError { return &ewsError{code: code, text: text} }

var (
	errItemNotFound     = ewsErr("ErrorItemNotFound", "The specified object was not found in the store., The process failed to get the correct properties.")
	errFolderNotFound   = ewsErr("ErrorFolderNotFound", "The specified folder could not be found in the store.")
	errIDMalformed      = ewsErr("ErrorInvalidIdMalformed", "Id is malformed.")
	errAccessDenied     = ewsErr("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	errNoMailbox        = ewsErr("ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it.")
	errInvalidSyncState = ewsErr("ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.")
	errConflict         = ewsErr("ErrorIrresolvableConflict", "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.")
	errImpersonate      = ewsErr("ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.")
	errNameNoResults    = ewsErr("ErrorNameResolutionNoResults", "No results were found.")
	errCalendarRange    = ewsErr("ErrorCalendarViewRangeTooBig", "The requested calendar view range exceeds the maximum of two years.")
	errTimeInterval     = ewsErr("ErrorTimeIntervalTooBig", "The time interval specified for free/busy is larger than the allowed 42 days.")
	errTooManyMailboxes = ewsErr("ErrorInvalidRequest", "You can request availability for at most 100 mailboxes.")
	errRecipientUnknown = ewsErr("ErrorMailRecipientNotFound", "No mailbox with such guid or SMTP address.")
	errEndBeforeStart   = ewsErr("ErrorCalendarEndDateIsEarlierThanStartDate", "The end date occurs before the start date.")
	errNotCalendar      = ewsErr("ErrorCannotCreateCalendarItemInNonCalendarFolder", "Calendar items can only be created in a calendar folder.")
	errServerBusy       = ewsErr("ErrorServerBusy", "The server cannot service this request right now. Try again later.")
)

func errSchema(text string) *ewsError {
	return ewsErr("ErrorSchemaValidation", "The request failed schema validation: "+text)
}
func errInvalidRequest(t string) *ewsError {
	return ewsErr("ErrorInvalidRequest", "The request is invalid: "+t)
}
func errInvalidProperty(t string) *ewsError {
	return ewsErr("ErrorInvalidPropertySet", "The property cannot be set: "+t)
}
