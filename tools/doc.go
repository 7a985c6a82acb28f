// Package tools pins the code generators this project runs (mdatagen) in a
// module of its own, so their older requirements stay out of the main
// go.mod. Run them with `go tool -modfile=tools/go.mod mdatagen …`.
package tools
