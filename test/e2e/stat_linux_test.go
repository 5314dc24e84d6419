package e2e

import (
	"os"
	"syscall"
)

// statIno returns a file's inode number.
func statIno(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
