package proto

// Response is a record that follows a ReplyHeader whose Err is zero.
type Response interface {
	Decode(d *Decoder)
}

// EmptyResponse is the body of replies that carry nothing the client
// reads: delete, auth, setWatches, ping, closeSession, check and
// removeWatches, and addWatch, to which servers since 3.6 answer with an
// ErrorResponse body (a zero int32). Decode reads nothing, and the bytes
// after a reply's record are not checked, so both shapes are accepted.
type EmptyResponse struct{}

func (*EmptyResponse) Decode(*Decoder) {}

// PathResponse carries a path: create and sync.
type PathResponse struct{ Path string }

func (r *PathResponse) Decode(d *Decoder) { r.Path = d.String() }

// Create2Response carries the created path and its stat.
type Create2Response struct {
	Path string
	Stat Stat
}

func (r *Create2Response) Decode(d *Decoder) {
	r.Path = d.String()
	r.Stat.Decode(d)
}

// StatResponse carries a stat: exists, setData and setACL.
type StatResponse struct{ Stat Stat }

func (r *StatResponse) Decode(d *Decoder) { r.Stat.Decode(d) }

// GetDataResponse carries a node's data and stat. Data is copied out of the
// frame, so it stays valid after the read buffer is reused.
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

func (r *GetDataResponse) Decode(d *Decoder) {
	r.Data = d.Bytes()
	r.Stat.Decode(d)
}

// GetACLResponse carries a node's ACL and stat.
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

func (r *GetACLResponse) Decode(d *Decoder) {
	r.ACL = d.ACLs()
	r.Stat.Decode(d)
}

// ChildrenResponse carries child names: getChildren and getEphemerals.
type ChildrenResponse struct{ Children []string }

func (r *ChildrenResponse) Decode(d *Decoder) { r.Children = d.Strings() }

// Children2Response carries child names and the parent's stat.
type Children2Response struct {
	Children []string
	Stat     Stat
}

func (r *Children2Response) Decode(d *Decoder) {
	r.Children = d.Strings()
	r.Stat.Decode(d)
}

// CountResponse carries a number: getAllChildrenNumber.
type CountResponse struct{ Count int32 }

func (r *CountResponse) Decode(d *Decoder) { r.Count = d.Int32() }

// ClientInfo is one identity of a session, from whoAmI.
type ClientInfo struct {
	AuthScheme string
	User       string
}

// WhoAmIResponse lists the session's identities.
type WhoAmIResponse struct{ Infos []ClientInfo }

func (r *WhoAmIResponse) Decode(d *Decoder) {
	n := d.vectorLen(8)
	r.Infos = make([]ClientInfo, 0, max(n, 0))
	for i := 0; i < n && d.Err() == nil; i++ {
		r.Infos = append(r.Infos, ClientInfo{AuthScheme: d.String(), User: d.String()})
	}
}

// WatcherEvent is the body of a notification (xid -1).
type WatcherEvent struct {
	Type  int32
	State int32
	Path  string
}

// Encode appends the event, as a server would.
func (e *WatcherEvent) Encode(dst []byte) []byte {
	dst = AppendInt32(dst, e.Type)
	dst = AppendInt32(dst, e.State)
	return AppendString(dst, e.Path)
}

func (e *WatcherEvent) Decode(d *Decoder) {
	e.Type = d.Int32()
	e.State = d.Int32()
	e.Path = d.String()
}
