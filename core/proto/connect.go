package proto

// ConnectRequest opens or resumes a session. It is the first frame a client
// sends on a new connection.
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeoutMs       int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
}

// Encode appends the request body (without the frame length).
func (r *ConnectRequest) Encode(dst []byte) []byte {
	dst = AppendInt32(dst, r.ProtocolVersion)
	dst = AppendInt64(dst, r.LastZxidSeen)
	dst = AppendInt32(dst, r.TimeoutMs)
	dst = AppendInt64(dst, r.SessionID)
	passwd := r.Passwd
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	dst = AppendBuffer(dst, passwd)
	return AppendBool(dst, r.ReadOnly)
}

// Decode reads a connect request, as a server would. The read-only flag is
// optional: old clients do not send it.
func (r *ConnectRequest) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int32()
	r.LastZxidSeen = d.Int64()
	r.TimeoutMs = d.Int32()
	r.SessionID = d.Int64()
	r.Passwd = d.Bytes()
	r.ReadOnly = d.Err() == nil && d.Remaining() > 0 && d.Bool()
}

// ConnectResponse answers a ConnectRequest. A TimeoutMs of zero or less means
// the session has expired.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeoutMs       int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
}

// Encode appends the response body.
func (r *ConnectResponse) Encode(dst []byte) []byte {
	dst = AppendInt32(dst, r.ProtocolVersion)
	dst = AppendInt32(dst, r.TimeoutMs)
	dst = AppendInt64(dst, r.SessionID)
	dst = AppendBuffer(dst, r.Passwd)
	return AppendBool(dst, r.ReadOnly)
}

// Decode reads the response. The read-only flag is optional.
func (r *ConnectResponse) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int32()
	r.TimeoutMs = d.Int32()
	r.SessionID = d.Int64()
	r.Passwd = d.Bytes()
	r.ReadOnly = d.Err() == nil && d.Remaining() > 0 && d.Bool()
}

// RequestHeader starts every request after the handshake.
type RequestHeader struct {
	Xid    int32
	Opcode int32
}

// Encode appends the header.
func (h RequestHeader) Encode(dst []byte) []byte {
	dst = AppendInt32(dst, h.Xid)
	return AppendInt32(dst, h.Opcode)
}

// Decode reads the header.
func (h *RequestHeader) Decode(d *Decoder) {
	h.Xid = d.Int32()
	h.Opcode = d.Int32()
}

// ReplyHeader starts every frame the server sends after the handshake.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  int32
}

// ReplyHeaderSize is the encoded size of a ReplyHeader.
const ReplyHeaderSize = 16

// Encode appends the header.
func (h ReplyHeader) Encode(dst []byte) []byte {
	dst = AppendInt32(dst, h.Xid)
	dst = AppendInt64(dst, h.Zxid)
	return AppendInt32(dst, h.Err)
}

// Decode reads the header.
func (h *ReplyHeader) Decode(d *Decoder) {
	h.Xid = d.Int32()
	h.Zxid = d.Int64()
	h.Err = d.Int32()
}
