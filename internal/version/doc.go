// Package version names this project's release, for the User-Agent of every
// request it sends and for anything else that must say which build it is.
package version
