package model

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strings"
)

// ParamDigest is Pacemaker's operation digest of a parameter set (the
// history's op-digest and op-restart-digest): the MD5 of the parameters
// as one XML element, names sorted.
func ParamDigest(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(" <parameters")
	for _, k := range keys {
		b.WriteString(" ")
		b.WriteString(k)
		b.WriteString("=\"")
		b.WriteString(xmlEscaper.Replace(params[k]))
		b.WriteString("\"")
	}
	b.WriteString("/>\n")
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;", "\n", "&#10;", "\r", "&#13;", "\t", "&#9;")
