package model

import (
	"strconv"
	"strings"
)

// BaseID is a clone instance's resource id without its instance number
// ("web:1" -> "web"); any other id is returned as it is.
func BaseID(id string) string {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return id
	}
	if _, err := strconv.Atoi(id[i+1:]); err != nil {
		return id
	}
	return id[:i]
}
