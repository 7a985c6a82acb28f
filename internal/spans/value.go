package spans

import "math"

// Kind is the type held by a Value.
type Kind uint8

// Value kinds. The zero Value is Empty.
const (
	KindEmpty Kind = iota
	KindString
	KindBool
	KindInt
	KindDouble
	KindBytes
	KindSlice
	KindMap
)

// Value is an attribute value: a scalar, bytes, a list of values or a map.
// It is 40 bytes: a held span keeps one per attribute.
type Value struct {
	str string
	num uint64
	// ref holds the values of a KindSlice and the entries of a KindMap.
	ref  *composite
	kind Kind
}

type composite struct {
	values []Value
	attrs  []Attr
}

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{kind: KindString, str: s} }

// BoolValue returns a bool Value.
func BoolValue(b bool) Value {
	var n uint64
	if b {
		n = 1
	}
	return Value{kind: KindBool, num: n}
}

// IntValue returns an int Value.
func IntValue(i int64) Value { return Value{kind: KindInt, num: uint64(i)} }

// DoubleValue returns a float Value.
func DoubleValue(f float64) Value { return Value{kind: KindDouble, num: math.Float64bits(f)} }

// BytesValue returns a bytes Value. The bytes are copied.
func BytesValue(b []byte) Value { return Value{kind: KindBytes, str: string(b)} }

// SliceValue returns a list Value that takes ownership of vs.
func SliceValue(vs []Value) Value { return Value{kind: KindSlice, ref: &composite{values: vs}} }

// MapValue returns a map Value that takes ownership of kvs.
func MapValue(kvs []Attr) Value { return Value{kind: KindMap, ref: &composite{attrs: kvs}} }

// Kind reports the type held.
func (v Value) Kind() Kind { return v.kind }

// Str returns the string of a KindString (or the raw bytes of a KindBytes).
func (v Value) Str() string { return v.str }

// Bool returns the bool of a KindBool.
func (v Value) Bool() bool { return v.num != 0 }

// Int returns the int of a KindInt.
func (v Value) Int() int64 { return int64(v.num) }

// Double returns the float of a KindDouble.
func (v Value) Double() float64 { return math.Float64frombits(v.num) }

// Bytes returns the bytes of a KindBytes.
func (v Value) Bytes() []byte { return []byte(v.str) }

// Slice returns the values of a KindSlice.
func (v Value) Slice() []Value {
	if v.kind != KindSlice || v.ref == nil {
		return nil
	}
	return v.ref.values
}

// Map returns the entries of a KindMap.
func (v Value) Map() []Attr {
	if v.kind != KindMap || v.ref == nil {
		return nil
	}
	return v.ref.attrs
}

// AsString returns the value as a string when it is a string.
func (v Value) AsString() (string, bool) {
	if v.kind == KindString {
		return v.str, true
	}
	return "", false
}

// AsInt returns the value as an integer when it is an int, or a whole double.
func (v Value) AsInt() (int64, bool) {
	switch v.kind {
	case KindInt:
		return v.Int(), true
	case KindDouble:
		f := v.Double()
		if f == math.Trunc(f) && !math.IsInf(f, 0) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	}
	return 0, false
}
