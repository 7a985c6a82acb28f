package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/agentos-ai/agentos-otel/internal/agentosapi"
	"github.com/agentos-ai/agentos-otel/internal/localserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "agentos-localserver:", err)
		}
		os.Exit(2)
	}
}

// agentFlag collects repeated -agent ID=KEY flags. They are checked after
// parsing, because the flag package quotes a rejected value, key included,
// in its error.
type agentFlag []string

func (a *agentFlag) String() string { return fmt.Sprintf("%d agents", len(*a)) }

func (a *agentFlag) Set(s string) error { *a = append(*a, s); return nil }

// agentKeys maps agent keys to the agent ids they belong to.
type agentKeys map[string]string

// add registers "ID=KEY" from where (a flag or a file's line). Errors
// never quote s: a malformed value may be the key alone.
func (a agentKeys) add(where, s string) error {
	id, key, ok := strings.Cut(strings.TrimSpace(s), "=")
	id, key = strings.TrimSpace(id), strings.TrimSpace(key)
	switch {
	case !ok || key == "":
		return fmt.Errorf("%s: want ID=KEY", where)
	case !agentosapi.IsUUID(id):
		return fmt.Errorf("%s: the id before = is not a uuid", where)
	case strings.ContainsAny(key, " \t"):
		return fmt.Errorf("%s: agent %s: the key has a space in it", where, id)
	}
	if other, dup := a[key]; dup {
		// Which agent a key stands for must not depend on the order of
		// the flags: refuse, even for the same agent.
		return fmt.Errorf("%s: agent %s: this key is already given for agent %s", where, id, other)
	}
	a[key] = id
	return nil
}

// readFile adds the ID=KEY lines of path.
func (a agentKeys) readFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := a.add(fmt.Sprintf("%s:%d", path, n), line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		// bufio's errors never hold the line, but say where.
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ids returns the agent ids, sorted, each once.
func (a agentKeys) ids() []string {
	ids := slices.Sorted(maps.Values(a))
	return slices.Compact(ids)
}

// run serves until ctx ends. It is main without the process around it.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("agentos-localserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var agentFlags agentFlag
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on (port 0 picks a free one)")
	addrFile := fs.String("addr-file", "", "write the bound address to this file once serving")
	agentsFile := fs.String("agents-file", "", "file of ID=KEY lines, one agent key each")
	maxBody := fs.Int64("max-body-bytes", localserver.DefaultMaxBodyBytes, "larger request bodies get 413")
	verbose := fs.Bool("v", false, "log every request")
	dbPath := fs.String("db", "", "keep runs in this database `file` (default "+defaultDBPath()+")")
	memory := fs.Bool("memory", false, "keep runs in memory only: they are gone when the server stops")
	fs.Var(&agentFlags, "agent", "agent `ID=KEY` to accept (repeatable)")
	var allowHosts hostFlag
	fs.Var(&allowHosts, "allow-host", "also serve the pages to this host `name` besides localhost and IP addresses (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	agents := agentKeys{}
	for i, a := range agentFlags {
		if err := agents.add(fmt.Sprintf("-agent #%d", i+1), a); err != nil {
			return err
		}
	}
	if *agentsFile != "" {
		if err := agents.readFile(*agentsFile); err != nil {
			return err
		}
	}
	if len(agents) == 0 {
		return errors.New("no agents: give -agent ID=KEY or -agents-file")
	}
	if *memory && *dbPath != "" {
		return errors.New("-db and -memory exclude each other")
	}

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	store, where, err := openStore(*dbPath, *memory)
	if err != nil {
		return err
	}
	defer store.Close()
	srv := localserver.New(localserver.Options{MaxBodyBytes: *maxBody, Logger: log, Store: store})
	for key, id := range agents {
		srv.RegisterAgent(id, key)
	}
	ids := agents.ids()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	bound := ln.Addr().String()
	pages := &web{store: store, url: "http://" + bound, agents: ids, log: log}
	hs := &http.Server{Handler: recoverPanics(log, checkHost(allowHosts, newMux(srv, pages))), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	if *addrFile != "" {
		// Written to a temporary name and renamed, so a reader never sees
		// half an address.
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(bound+"\n"), 0o644); err != nil {
			_ = hs.Close()
			return err
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			_ = hs.Close()
			return err
		}
	}
	log.Info("serving the local AgentOS ingest API and its run pages", "url", "http://"+bound, "agents", ids, "runs", where)

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(shutdownCtx)
	if err != nil {
		err = errors.Join(err, hs.Close())
	}
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	runs, sumErr := store.List(localserver.Query{Limit: 1})
	log.Info("stopped", "runs", runs.Total)
	return errors.Join(err, sumErr)
}

// defaultDBPath is where runs are kept without -db: in the user's cache
// directory, so that they outlive the server wherever it is started from,
// and never land in a source tree.
func defaultDBPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "agentos-localserver.db"
	}
	return filepath.Join(dir, "agentos-localserver", "runs.db")
}

// openStore opens the store the flags ask for, and says where it is.
func openStore(path string, memory bool) (localserver.Store, string, error) {
	if memory {
		return localserver.NewMemoryStore(), "in memory", nil
	}
	if path == "" {
		path = defaultDBPath()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, "", err
		}
	}
	store, err := localserver.OpenBoltStore(path)
	if errors.Is(err, localserver.ErrDamaged) {
		return nil, "", fmt.Errorf("%w; move it away, or give -db another file", err)
	}
	if err != nil {
		return nil, "", err
	}
	return store, path, nil
}

// newMux serves the ingest API, the run pages and the /_local inspection
// endpoints.
func newMux(srv *localserver.Server, pages *web) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	pages.register(mux)
	mux.HandleFunc("GET /_local/runs", pages.runsJSON)
	mux.HandleFunc("GET /_local/stats", func(w http.ResponseWriter, _ *http.Request) {
		st := srv.Stats()
		writeJSON(w, statsJSON{Requests: st.Requests, Status: st.Status, Rejected: st.Rejected})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	// Not indented, which would reformat every payload as well.
	_ = json.NewEncoder(w).Encode(v)
}

// The snapshot's JSON shape. It is this command's own, with snake_case
// names like the ingest API, so harnesses do not depend on Go field names.
type (
	runsJSON struct {
		Runs []runJSON `json:"runs"`
		// The id to pass as ?after= for the next page; absent on the last.
		Next string `json:"next,omitempty"`
	}
	runJSON struct {
		ID            string            `json:"id"`
		AgentID       string            `json:"agent_id"`
		TriggerType   string            `json:"trigger_type"`
		ExternalRunID string            `json:"external_run_id,omitempty"`
		Status        string            `json:"status"`
		Input         json.RawMessage   `json:"input,omitempty"`
		Output        json.RawMessage   `json:"output,omitempty"`
		ErrorMessage  string            `json:"error_message,omitempty"`
		ErrorDetail   json.RawMessage   `json:"error_detail,omitempty"`
		Events        []eventJSON       `json:"events"`
		Tasks         []agentosapi.Task `json:"tasks"`
		StartedAt     time.Time         `json:"started_at"`
		EndedAt       *time.Time        `json:"ended_at,omitempty"`
	}
	eventJSON struct {
		SequenceNumber int64 `json:"sequence_number"`
		agentosapi.Event
		ReceivedAt time.Time `json:"received_at"`
	}
	statsJSON struct {
		Requests map[string]int `json:"requests"`
		Status   map[int]int    `json:"status"`
		Rejected int            `json:"rejected"`
	}
)

func toJSON(r localserver.Run) runJSON {
	out := runJSON{
		ID: r.ID, AgentID: r.AgentID, TriggerType: r.TriggerType, ExternalRunID: r.ExternalRunID,
		Status: r.Status, Input: r.Input, Output: r.Output,
		ErrorMessage: r.ErrorMessage, ErrorDetail: r.ErrorDetail,
		Events: make([]eventJSON, len(r.Events)), Tasks: r.Tasks, StartedAt: r.StartedAt,
	}
	if out.Tasks == nil {
		out.Tasks = []agentosapi.Task{}
	}
	if !r.EndedAt.IsZero() {
		end := r.EndedAt
		out.EndedAt = &end
	}
	for i, e := range r.Events {
		out.Events[i] = eventJSON{SequenceNumber: e.SequenceNumber, Event: e.Event, ReceivedAt: e.ReceivedAt}
	}
	return out
}
