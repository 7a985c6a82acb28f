package main

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

//go:embed web
var webFiles embed.FS

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"clock":    clock,
	"datetime": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05.000") },
	"rfc3339":  func(t time.Time) string { return t.Format(time.RFC3339Nano) },
	"short":    short,
	"text":     text,
	"clean":    clean,
	"long":     func(s string) string { return clean(cut(s, messageMaxRunes)) },
}).ParseFS(webFiles, "web/*.html"))

// web serves the pages that show the recorded runs. It reads the store
// directly: pages never go through the ingest API's lock.
type web struct {
	store  localserver.Store
	url    string   // the server's base URL, for the empty page's hint
	agents []string // registered agent ids, sorted
	log    *slog.Logger
}

// How often a page asks whether what it shows has changed.
const pollEvery = 2 * time.Second

func (p *web) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /runs/{id}", p.run)
	mux.HandleFunc("GET /runs/{id}/payload", p.payload)
	mux.HandleFunc("GET /_local/changes", p.changes)
	assets, _ := fs.Sub(webFiles, "web/assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
}

// duration is how long a run took, for people.
func duration(s localserver.RunSummary) string {
	if s.Status == localserver.StatusRunning {
		return "running"
	}
	return clock(s.End().Sub(s.Start()))
}

// clock formats a duration for people, to the microsecond under a second
// and the millisecond under a minute.
func clock(d time.Duration) string {
	switch {
	case d == math.MinInt64 || d == math.MaxInt64:
		return "?" // saturated: one of the times is not a real one
	case d < 0:
		return "−" + clock(-d)
	case d < time.Second:
		return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000)
	case d < time.Minute:
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// offset is a time relative to the run's start, signed.
func offset(d time.Duration) string {
	if d >= 0 {
		return "+" + clock(d)
	}
	return clock(d)
}

func short(id string) string { id, _, _ = strings.Cut(id, "-"); return clean(cut(id, 40)) }

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func (p *web) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&b, name, data); err != nil {
		p.fail(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Everything the pages need is served from here: nothing else may load.
	h.Set("Content-Security-Policy", "default-src 'self'")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b.Bytes())
}

func (p *web) fail(w http.ResponseWriter, err error) {
	p.log.Error("rendering a page", slog.Any("error", err))
	http.Error(w, "reading the runs: "+err.Error(), http.StatusInternalServerError)
}
