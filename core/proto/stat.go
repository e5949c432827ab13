package proto

// Stat is the jute Stat record: a znode's metadata.
type Stat struct {
	Czxid          int64
	Mzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          int64
}

// StatSize is the encoded size of a Stat.
const StatSize = 68

// Encode appends the stat.
func (s *Stat) Encode(dst []byte) []byte {
	dst = AppendInt64(dst, s.Czxid)
	dst = AppendInt64(dst, s.Mzxid)
	dst = AppendInt64(dst, s.Ctime)
	dst = AppendInt64(dst, s.Mtime)
	dst = AppendInt32(dst, s.Version)
	dst = AppendInt32(dst, s.Cversion)
	dst = AppendInt32(dst, s.Aversion)
	dst = AppendInt64(dst, s.EphemeralOwner)
	dst = AppendInt32(dst, s.DataLength)
	dst = AppendInt32(dst, s.NumChildren)
	return AppendInt64(dst, s.Pzxid)
}

// Decode reads the stat.
func (s *Stat) Decode(d *Decoder) {
	s.Czxid = d.Int64()
	s.Mzxid = d.Int64()
	s.Ctime = d.Int64()
	s.Mtime = d.Int64()
	s.Version = d.Int32()
	s.Cversion = d.Int32()
	s.Aversion = d.Int32()
	s.EphemeralOwner = d.Int64()
	s.DataLength = d.Int32()
	s.NumChildren = d.Int32()
	s.Pzxid = d.Int64()
}

// ACL is one access control entry: permissions for an identity.
type ACL struct {
	Perms  int32
	Scheme string
	ID     string
}

// AppendACLs appends a vector of ACL entries.
func AppendACLs(dst []byte, acls []ACL) []byte {
	dst = AppendInt32(dst, int32(len(acls)))
	for _, a := range acls {
		dst = AppendInt32(dst, a.Perms)
		dst = AppendString(dst, a.Scheme)
		dst = AppendString(dst, a.ID)
	}
	return dst
}

// ACLs reads a vector of ACL entries.
func (d *Decoder) ACLs() []ACL {
	n := d.vectorLen(12)
	if n <= 0 {
		return nil
	}
	out := make([]ACL, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var a ACL
		a.Perms = d.Int32()
		a.Scheme = d.String()
		a.ID = d.String()
		out = append(out, a)
	}
	return out
}
