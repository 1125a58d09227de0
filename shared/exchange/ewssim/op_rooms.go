package ewssim

// --- GetRoomLists, GetRooms ---
//
// Unlike most operations, their response element is the response message
// itself: <m:GetRoomListsResponse ResponseClass="Success"> with
// ResponseCode and the payload, no ResponseMessages (messages.xsd,
// GetRoomListsResponseMessageType). Any authenticated caller may read the
// directory: under impersonation the impersonated mailbox asks, as
// Exchange does.

type getRoomListsReq struct{}

func (r *getRoomListsReq) validate() *ewsError { return nil }

func (r *getRoomListsReq) run(c *call) {
	lists := c.s.RoomLists()
	w := c.w
	roomRespStart(w, "GetRoomLists", nil)
	w.raw("<m:RoomLists>")
	for _, l := range lists {
		w.raw("<t:Address>")
		w.el("t:Name", l.DisplayName)
		w.el("t:EmailAddress", l.Address)
		w.el("t:RoutingType", "SMTP")
		w.el("t:MailboxType", "PublicDL")
		w.raw("</t:Address>")
	}
	w.raw("</m:RoomLists>")
	roomRespEnd(w, "GetRoomLists")
}

type getRoomsReq struct {
	RoomList string `xml:"RoomList>EmailAddress"`
}

func (r *getRoomsReq) validate() *ewsError {
	if r.RoomList == "" {
		return errSchema("GetRooms needs RoomList with an EmailAddress")
	}
	return nil
}

func (r *getRoomsReq) run(c *call) {
	w := c.w
	rooms, ok := c.s.RoomsOf(r.RoomList)
	if !ok {
		// Exchange's answer for an address that is no room list.
		roomRespStart(w, "GetRooms", errNameNoResults)
		roomRespEnd(w, "GetRooms")
		return
	}
	roomRespStart(w, "GetRooms", nil)
	w.raw("<m:Rooms>")
	for _, rm := range rooms {
		w.raw("<t:Room><t:Id>")
		w.el("t:Name", rm.DisplayName)
		w.el("t:EmailAddress", rm.Address)
		w.el("t:RoutingType", "SMTP")
		w.el("t:MailboxType", "Mailbox")
		w.raw("</t:Id></t:Room>")
	}
	w.raw("</m:Rooms>")
	roomRespEnd(w, "GetRooms")
}

// roomRespStart opens <m:{op}Response>, itself the response message.
func roomRespStart(w *xw, op string, e *ewsError) {
	w.raw(envelopeStart)
	w.raw("<m:")
	w.raw(op)
	w.raw(`Response xmlns:m="` + nsMessages + `" xmlns:t="` + nsTypes + `" ResponseClass="`)
	if e == nil {
		w.raw(`Success"><m:ResponseCode>NoError</m:ResponseCode>`)
		return
	}
	w.raw(`Error">`)
	w.el("m:MessageText", e.text)
	w.el("m:ResponseCode", e.code)
	w.raw("<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>")
}

func roomRespEnd(w *xw, op string) {
	w.raw("</m:")
	w.raw(op)
	w.raw("Response>" + envelopeEnd)
}
