package model

import (
	"errors"
	"fmt"
	"unicode"
)

// ErrInvalidID is reported (in a *FieldError) for a resource or
// constraint id that is not an XML NCName, as Pacemaker requires.
var ErrInvalidID = errors.New("invalid id")

// CheckID checks an id as Pacemaker does: an XML NCName (a letter or "_",
// then letters, digits, ".", "-" and "_"); ":" is reserved for clone
// instances ("api:0").
func CheckID(id string) error {
	if id == "" {
		return ErrEmptyID
	}
	for i, r := range id {
		switch {
		case r == ':':
			return fmt.Errorf("%w %q: ':' is reserved for clone instances (api:0)", ErrInvalidID, id)
		case unicode.IsLetter(r) || r == '_':
		case i > 0 && (unicode.IsDigit(r) || r == '.' || r == '-' || unicode.Is(unicode.Mn, r)):
		default:
			return fmt.Errorf("%w %q: an id is a letter or _ followed by letters, digits, '.', '-' or '_'", ErrInvalidID, id)
		}
	}
	return nil
}
