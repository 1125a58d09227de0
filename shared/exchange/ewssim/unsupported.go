package ewssim

import "encoding/xml"

// An EWS operation the simulator does not implement (one the schema
// defines: GetDelegate, CreateFolder, SendItem, Subscribe, ...) is a valid
// request, so it is answered as Exchange answers a valid request it
// cannot carry out: HTTP 200, the operation's own response element and
// response message with ResponseClass="Error" and ResponseCode
// ErrorInvalidOperation. A SOAP fault (ErrorInvalidRequest,
// ErrorSchemaValidation) would tell a client its request or its
// RequestServerVersion was wrong: EWS clients read such faults as "wrong
// server version" and give up on the server, and Outlook takes an HTTP 500
// on an EWS call for an authentication failure. An element that is no EWS
// operation still gets the ErrorInvalidRequest fault.

// unsupportedShape is where an operation's response puts its response
// message (unsupported_table.go, generated from the schema).
type unsupportedShape struct {
	op       string // the operation (WSDL name)
	response string // the response element
	// message is the response message element in ResponseMessages, or
	// "ResponseMessage" for the availability-style responses that hold
	// one ResponseMessage directly; empty when flat.
	message string
	// flat: the response element is itself the response message
	// (ResponseClass on it), as GetDelegate's and GetRoomLists' are.
	flat bool
	// extra is what the response message must hold besides the code
	// (required, empty, elements such as <m:Items/>).
	extra string
}

func init() {
	for element, shape := range unsupportedShapes {
		if _, implemented := operations[element]; !implemented {
			operations[element] = func() operation { return &unsupportedReq{shape: shape} }
		}
	}
}

// unsupportedReq accepts any content: the simulator does not read it.
type unsupportedReq struct {
	XMLName xml.Name
	shape   unsupportedShape
}

func (r *unsupportedReq) run(c *call) {
	sh := r.shape
	w := c.w
	e := ewsErr("ErrorInvalidOperation", "The simulator does not implement "+sh.op+".")
	w.raw(envelopeStart)
	w.raw("<m:" + sh.response + ` xmlns:m="` + nsMessages + `" xmlns:t="` + nsTypes + `"`)
	switch {
	case sh.flat:
		w.raw(` ResponseClass="Error">`)
		r.body(w, e)
	case sh.message == "ResponseMessage":
		w.raw(`><m:ResponseMessage ResponseClass="Error">`)
		r.body(w, e)
		w.raw("</m:ResponseMessage>")
	default:
		w.raw("><m:ResponseMessages><m:" + sh.message + ` ResponseClass="Error">`)
		r.body(w, e)
		w.raw("</m:" + sh.message + "></m:ResponseMessages>")
	}
	w.raw("</m:" + sh.response + ">" + envelopeEnd)
}

func (r *unsupportedReq) body(w *xw, e *ewsError) {
	w.el("m:MessageText", e.text)
	w.el("m:ResponseCode", e.code)
	w.raw("<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>")
	w.raw(r.shape.extra)
}
