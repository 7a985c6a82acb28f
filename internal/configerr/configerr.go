// Package configerr tags configuration errors of the core with the core's
// name of the setting, so that each front end can show its own name for it
// (an option and environment variable in the SDK, a YAML key in the
// Collector) instead of the core's.
package configerr

import "errors"

// FieldError is an invalid setting.
type FieldError struct {
	// Field names the setting, such as "Config.MaxBodyBytes".
	Field string
	// Err says what is wrong with its value, without naming it.
	Err error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Rename returns the FieldError in err's chain under the name that name
// gives its field. It returns err unchanged when the chain holds no
// FieldError or name gives "" (a field the front end has no setting for).
// Errors joined with errors.Join are renamed one by one.
func Rename(err error, name func(field string) string) error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs := joined.Unwrap()
		renamed := make([]error, len(errs))
		for i, e := range errs {
			renamed[i] = Rename(e, name)
		}
		return errors.Join(renamed...)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err
	}
	if n := name(fe.Field); n != "" {
		return &FieldError{Field: n, Err: fe.Err}
	}
	return err
}
