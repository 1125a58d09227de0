package ewssim

// UnsupportedOperations lists the request elements of the EWS operations
// the simulator answers with ErrorInvalidOperation, with their response
// elements.
func UnsupportedOperations() map[string]string {
	out := make(map[string]string)
	for element, sh := range unsupportedShapes {
		if _, ok := operations[element]().(*unsupportedReq); ok {
			out[element] = sh.response
		}
	}
	return out
}
