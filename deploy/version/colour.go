package version

import (
	"errors"
	"fmt"
	"strings"
)

// Colour is one of the two slots of a blue-green deployment. The zero Colour
// means "none" (nothing deployed yet).
type Colour string

// The two colours.
const (
	Blue  Colour = "blue"
	Green Colour = "green"
)

// ErrInvalidColour is wrapped by ParseColour's errors.
var ErrInvalidColour = errors.New("invalid colour")

// ParseColour accepts "blue" or "green" (any case, surrounding spaces
// ignored).
func ParseColour(s string) (Colour, error) {
	switch c := Colour(strings.ToLower(strings.TrimSpace(s))); c {
	case Blue, Green:
		return c, nil
	}
	return "", fmt.Errorf("colour %q: %w: want blue or green", s, ErrInvalidColour)
}

// Other returns the colour that is not c: Green for Blue, Blue for Green.
// With no live colour (the zero Colour) the first deployment goes to Blue,
// so Other of the zero Colour is Blue as well.
func (c Colour) Other() Colour {
	if c == Blue {
		return Green
	}
	return Blue
}

// Valid reports whether c is Blue or Green.
func (c Colour) Valid() bool { return c == Blue || c == Green }

// String returns "blue", "green", or "" for the zero Colour.
func (c Colour) String() string { return string(c) }

// UnmarshalText parses text with ParseColour; empty text gives the zero
// Colour.
func (c *Colour) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*c = ""
		return nil
	}
	p, err := ParseColour(string(text))
	if err != nil {
		return err
	}
	*c = p
	return nil
}
