package ewssim

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
)

// Ids, change keys and sync states are opaque base64 strings to clients,
// like Exchange's. Inside they carry the indexes the simulator needs, so a
// lookup is a slice index, not a map probe.

const (
	tagItem      = 'I'
	tagFolder    = 'F'
	tagChangeKey = 'K'
	tagSync      = 'S'
	tagHierarchy = 'H'
)

// idPrefix makes ids look like Exchange's (AAMk...) and lets a decoder
// reject foreign strings early.
var idPrefix = [3]byte{0x00, 0x03, 0x24}

func encodeID(tag byte, a, b uint32) string {
	var buf [16]byte // base64 of 12 bytes
	return string(appendID(buf[:0], tag, a, b))
}

// appendID appends encodeID(tag, a, b) to dst without allocating.
func appendID(dst []byte, tag byte, a, b uint32) []byte {
	var raw [12]byte
	copy(raw[:3], idPrefix[:])
	raw[3] = tag
	binary.BigEndian.PutUint32(raw[4:], a)
	binary.BigEndian.PutUint32(raw[8:], b)
	return base64.StdEncoding.AppendEncode(dst, raw[:])
}

func decodeID(tag byte, s string) (a, b uint32, ok bool) {
	if len(s) != 16 {
		return 0, 0, false
	}
	var raw [12]byte
	n, err := base64.StdEncoding.Decode(raw[:], []byte(s))
	if err != nil || n != 12 || raw[0] != idPrefix[0] || raw[1] != idPrefix[1] || raw[2] != idPrefix[2] || raw[3] != tag {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(raw[4:]), binary.BigEndian.Uint32(raw[8:]), true
}

// encodeID3 is encodeID with a third number, for the ids that need one
// (attachments and occurrences): 16 bytes, 24 characters of base64.
func encodeID3(tag byte, a, b, c uint32) string {
	var raw [16]byte
	copy(raw[:3], idPrefix[:])
	raw[3] = tag
	binary.BigEndian.PutUint32(raw[4:], a)
	binary.BigEndian.PutUint32(raw[8:], b)
	binary.BigEndian.PutUint32(raw[12:], c)
	return base64.StdEncoding.EncodeToString(raw[:])
}

func decodeID3(tag byte, s string) (a, b, c uint32, ok bool) {
	if len(s) != base64.StdEncoding.EncodedLen(16) {
		return 0, 0, 0, false
	}
	var raw [18]byte
	n, err := base64.StdEncoding.Decode(raw[:], []byte(s))
	if err != nil || n != 16 || raw[0] != idPrefix[0] || raw[1] != idPrefix[1] || raw[2] != idPrefix[2] || raw[3] != tag {
		return 0, 0, 0, false
	}
	return binary.BigEndian.Uint32(raw[4:]), binary.BigEndian.Uint32(raw[8:]), binary.BigEndian.Uint32(raw[12:]), true
}

func itemID(mbx, idx uint32) string   { return encodeID(tagItem, mbx, idx) }
func folderID(mbx, idx uint32) string { return encodeID(tagFolder, mbx, idx) }

// changeKey changes with every version of an item or folder.
func changeKey(idx, version uint32) string { return encodeID(tagChangeKey, version, idx) }

// syncState is a position in a change log: which mailbox and folder, the
// seq up to which the log has been read (seq), the seq at which the client
// last had the whole folder (base: the end of the last page with
// IncludesLastItemInRange), the epoch that invalidation bumps, and the
// mailbox seq when the current round of pages began (start: an item
// deleted before then was never sent in this round). A CRC makes edited
// states fail like Exchange's.
type syncState struct {
	tag    byte
	mbx    uint32
	folder uint32
	seq    uint32
	base   uint32
	epoch  uint32
	start  uint32
}

const syncStateLen = 32

func (s syncState) encode() string {
	var raw [syncStateLen]byte
	raw[0] = s.tag
	binary.BigEndian.PutUint32(raw[4:], s.mbx)
	binary.BigEndian.PutUint32(raw[8:], s.folder)
	binary.BigEndian.PutUint32(raw[12:], s.seq)
	binary.BigEndian.PutUint32(raw[16:], s.base)
	binary.BigEndian.PutUint32(raw[20:], s.epoch)
	binary.BigEndian.PutUint32(raw[24:], s.start)
	binary.BigEndian.PutUint32(raw[28:], crc32.ChecksumIEEE(raw[:28]))
	return base64.StdEncoding.EncodeToString(raw[:])
}

func decodeSyncState(tag byte, s string) (syncState, bool) {
	var raw [syncStateLen + 2]byte
	if len(s) != base64.StdEncoding.EncodedLen(syncStateLen) {
		return syncState{}, false
	}
	n, err := base64.StdEncoding.Decode(raw[:], []byte(s))
	if err != nil || n != syncStateLen || raw[0] != tag || binary.BigEndian.Uint32(raw[28:]) != crc32.ChecksumIEEE(raw[:28]) {
		return syncState{}, false
	}
	st := syncState{
		tag:    tag,
		mbx:    binary.BigEndian.Uint32(raw[4:]),
		folder: binary.BigEndian.Uint32(raw[8:]),
		seq:    binary.BigEndian.Uint32(raw[12:]),
		base:   binary.BigEndian.Uint32(raw[16:]),
		epoch:  binary.BigEndian.Uint32(raw[20:]),
		start:  binary.BigEndian.Uint32(raw[24:]),
	}
	return st, st.base <= st.seq
}
