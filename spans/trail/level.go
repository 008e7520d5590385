package trail

import "fmt"

// Level is the severity of a breadcrumb. The zero Level means unset and is read as LevelInfo.
type Level uint8

// Levels, from least to most severe. They start at one so that the zero value means unset.
const (
	LevelDebug Level = iota + 1
	LevelInfo
	LevelWarning
	LevelError
	LevelFatal
)

// String returns the level's name: "debug", "info", "warning", "error" or "fatal"; an unset
// level reads "info".
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case 0, LevelInfo:
		return "info"
	case LevelWarning:
		return "warning"
	case LevelError:
		return "error"
	case LevelFatal:
		return "fatal"
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a level's name as String writes it.
func (l *Level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "debug":
		*l = LevelDebug
	case "info":
		*l = LevelInfo
	case "warning":
		*l = LevelWarning
	case "error":
		*l = LevelError
	case "fatal":
		*l = LevelFatal
	default:
		return fmt.Errorf("trail: unknown level %q", b)
	}
	return nil
}
