package ewssim

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"strings"
)

// --- ConvertId ---
//
// The simulator's item and folder ids convert between the six IdFormat
// values, reversibly: converting an id to any format and back gives the
// id again, and each format has its own layout, so an id given in the
// wrong Format is ErrorInvalidIdMalformed, as in Exchange.
//
//	EwsId        the simulator's ids (base64 "AAMk...")
//	EwsLegacyId  the same with Exchange 2007's version byte (base64 "AAIk...")
//	EntryId      a MAPI PR_ENTRYID: 4 flag bytes, the store's provider
//	             GUID, the object type (1 folder, 7 message), mailbox and
//	             index; base64
//	HexEntryId   the EntryId bytes as upper-case hex (availability's ids)
//	StoreId      a 2-byte length, the EntryId and the object type; base64
//	OwaId        Exchange 2007 OWA's: "Rg" (item) or "Lg" (folder) bytes
//	             and the EntryId; base64
//
// Public folder ids (AlternatePublicFolderId, AlternatePublicFolderItemId)
// answer ErrorUnsupportedTypeForConversion: the simulator has no public
// folders.

func init() {
	operations["ConvertId"] = func() operation { return new(convertIDReq) }
}

type convertIDReq struct {
	DestinationFormat string `xml:"DestinationFormat,attr"`
	SourceIDs         struct {
		IDs []struct {
			XMLName xml.Name
			Format  string `xml:"Format,attr"`
			ID      string `xml:"Id,attr"`
			Mailbox string `xml:"Mailbox,attr"`
		} `xml:",any"`
	} `xml:"SourceIds"`
}

var idFormats = map[string]bool{"EwsLegacyId": true, "EwsId": true, "EntryId": true, "HexEntryId": true, "StoreId": true, "OwaId": true}

func (r *convertIDReq) validate() *ewsError {
	if !idFormats[r.DestinationFormat] {
		return errSchema("DestinationFormat must be an IdFormatType, not " + quote(r.DestinationFormat))
	}
	if len(r.SourceIDs.IDs) == 0 {
		return errSchema("SourceIds must hold at least one id")
	}
	for _, id := range r.SourceIDs.IDs {
		if id.XMLName.Local == "AlternateId" && (!idFormats[id.Format] || id.Mailbox == "") {
			return errSchema("an AlternateId needs a Format (IdFormatType) and a Mailbox")
		}
	}
	return nil
}

// entryIDProvider is the provider GUID of the simulator's store.
var entryIDProvider = [16]byte{0x85, 0x86, 0x83, 0x1a, 0xbe, 0xd9, 0xc1, 0x41, 0x94, 0xc5, 0x5d, 0x3d, 0x89, 0x01, 0x75, 0x99}

const (
	entryIDLen      = 4 + 16 + 2 + 8
	legacyVersion   = 0x02 // EwsId has 0x03 (idPrefix)
	mapiTypeFolder  = 0x0001
	mapiTypeMessage = 0x0007
)

// rawID is an id's content: item or folder, mailbox and index.
type rawID struct {
	tag byte
	mbx uint32
	idx uint32
}

func (id rawID) entryID() []byte {
	b := make([]byte, entryIDLen)
	copy(b[4:], entryIDProvider[:])
	typ := uint16(mapiTypeMessage)
	if id.tag == tagFolder {
		typ = mapiTypeFolder
	}
	binary.BigEndian.PutUint16(b[20:], typ)
	binary.BigEndian.PutUint32(b[22:], id.mbx)
	binary.BigEndian.PutUint32(b[26:], id.idx)
	return b
}

func parseEntryID(b []byte) (rawID, bool) {
	if len(b) != entryIDLen || binary.BigEndian.Uint32(b) != 0 || [16]byte(b[4:20]) != entryIDProvider {
		return rawID{}, false
	}
	id := rawID{mbx: binary.BigEndian.Uint32(b[22:]), idx: binary.BigEndian.Uint32(b[26:])}
	switch binary.BigEndian.Uint16(b[20:]) {
	case mapiTypeFolder:
		id.tag = tagFolder
	case mapiTypeMessage:
		id.tag = tagItem
	default:
		return rawID{}, false
	}
	return id, true
}

// owaPrefix is the leading bytes of an OWA id ("Rg" items, "Lg" folders).
func owaPrefix(tag byte) []byte {
	if tag == tagFolder {
		return []byte{0x2e, 0, 0, 0}
	}
	return []byte{0x46, 0, 0, 0}
}

func encodeAlternate(id rawID, format string) string {
	switch format {
	case "EwsId", "EwsLegacyId":
		var raw [12]byte
		copy(raw[:3], idPrefix[:])
		if format == "EwsLegacyId" {
			raw[1] = legacyVersion
		}
		raw[3] = id.tag
		binary.BigEndian.PutUint32(raw[4:], id.mbx)
		binary.BigEndian.PutUint32(raw[8:], id.idx)
		return base64.StdEncoding.EncodeToString(raw[:])
	case "EntryId":
		return base64.StdEncoding.EncodeToString(id.entryID())
	case "HexEntryId":
		return strings.ToUpper(hex.EncodeToString(id.entryID()))
	case "StoreId":
		b := binary.BigEndian.AppendUint16(nil, entryIDLen)
		b = append(b, id.entryID()...)
		return base64.StdEncoding.EncodeToString(append(b, id.tag))
	default: // OwaId
		return base64.StdEncoding.EncodeToString(append(owaPrefix(id.tag), id.entryID()...))
	}
}

func decodeAlternate(s, format string) (rawID, bool) {
	switch format {
	case "EwsId", "EwsLegacyId":
		raw, err := base64.StdEncoding.DecodeString(s)
		want := idPrefix
		if format == "EwsLegacyId" {
			want[1] = legacyVersion
		}
		if err != nil || len(raw) != 12 || [3]byte(raw[:3]) != want || (raw[3] != tagItem && raw[3] != tagFolder) {
			return rawID{}, false
		}
		return rawID{tag: raw[3], mbx: binary.BigEndian.Uint32(raw[4:]), idx: binary.BigEndian.Uint32(raw[8:])}, true
	case "EntryId":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return rawID{}, false
		}
		return parseEntryID(b)
	case "HexEntryId":
		b, err := hex.DecodeString(s)
		if err != nil {
			return rawID{}, false
		}
		return parseEntryID(b)
	case "StoreId":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 2+entryIDLen+1 || binary.BigEndian.Uint16(b) != entryIDLen {
			return rawID{}, false
		}
		id, ok := parseEntryID(b[2 : 2+entryIDLen])
		return id, ok && b[len(b)-1] == id.tag
	default: // OwaId
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 4+entryIDLen {
			return rawID{}, false
		}
		id, ok := parseEntryID(b[4:])
		return id, ok && string(b[:4]) == string(owaPrefix(id.tag))
	}
}

func (r *convertIDReq) run(c *call) {
	const op = "ConvertId"
	w := c.w
	w.respStart(op)
	defer w.respEnd(op)
	for _, src := range r.SourceIDs.IDs {
		if src.XMLName.Local != "AlternateId" {
			w.errorMessage(op, ewsErr("ErrorUnsupportedTypeForConversion", "The simulator has no public folders: "+src.XMLName.Local+" cannot be converted."))
			continue
		}
		id, ok := decodeAlternate(strings.TrimSpace(src.ID), src.Format)
		if !ok {
			w.errorMessage(op, errIDMalformed)
			continue
		}
		mailbox := src.Mailbox
		if name := c.s.mailboxName(id.mbx); name != "" {
			mailbox = name
		}
		w.msgStart(op, nil)
		// The QName in xsi:type needs t: in scope where the element is
		// read alone; declared here as well as on the response.
		w.raw(`<m:AlternateId xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:t="` + nsTypes + `" xsi:type="t:AlternateIdType"`)
		w.attr("Format", r.DestinationFormat)
		w.attr("Id", encodeAlternate(id, r.DestinationFormat))
		w.attr("Mailbox", mailbox)
		w.raw("/>")
		w.msgEnd(op)
	}
}
