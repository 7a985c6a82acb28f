package ingest

import (
	"fmt"
	"log/slog"
	"strings"
)

// keyring sits behind a pointer in Client, so even printing a Client value
// with fmt shows an address, never the keys.
type keyring struct {
	byAgent  map[string]secret
	fallback secret
}

// all returns every key, the fallback first.
func (k *keyring) all() []secret {
	keys := make([]secret, 0, len(k.byAgent)+1)
	if k.fallback.set() {
		keys = append(keys, k.fallback)
	}
	for _, key := range k.byAgent {
		keys = append(keys, key)
	}
	return keys
}

func (k *keyring) key(agentID string) (secret, error) {
	if s, ok := k.byAgent[agentID]; ok {
		return s, nil
	}
	if k.fallback.set() {
		return k.fallback, nil
	}
	return "", fmt.Errorf("ingest: agent %q: %w: set Config.AgentKeys[%q] or Config.DefaultKey", agentID, ErrNoKey, agentID)
}

func newKeyring(defaultKey string, agentKeys map[string]string) (*keyring, error) {
	k := &keyring{byAgent: make(map[string]secret, len(agentKeys))}
	if key := strings.TrimSpace(defaultKey); key != "" {
		if !headerSafe(key) {
			return nil, fieldErrorf("DefaultKey", "contains spaces or control characters")
		}
		k.fallback = secret(key)
	}
	for id, key := range agentKeys {
		key = strings.TrimSpace(key)
		switch {
		case key == "":
			return nil, fieldErrorf("AgentKeys", "the key of agent %q is empty", id)
		case !headerSafe(key):
			return nil, fieldErrorf("AgentKeys", "the key of agent %q contains spaces or control characters", id)
		}
		k.byAgent[id] = secret(key)
	}
	if !k.fallback.set() && len(k.byAgent) == 0 {
		return nil, fmt.Errorf("ingest: Config.DefaultKey and Config.AgentKeys are both empty: %w", ErrNoKey)
	}
	return k, nil
}

// headerSafe accepts visible ASCII only, which every key format is and
// which a header value may carry without escaping.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// warnWorkspaceKeys logs keys of the wrong kind: AgentOS rejects a
// workspace key (aos_ws_…) on ingest, and the 401 alone would not say why.
func (k *keyring) warnWorkspaceKeys(log *slog.Logger) {
	const hint = "this looks like an AgentOS workspace key (aos_ws_…); ingest needs the agent's key (aos_agent_…)"
	if strings.HasPrefix(k.fallback.reveal(), "aos_ws_") {
		log.Warn(hint, slog.String("setting", "DefaultKey"))
	}
	for id, key := range k.byAgent {
		if strings.HasPrefix(key.reveal(), "aos_ws_") {
			log.Warn(hint, slog.String("setting", "AgentKeys"), slog.String("agent_id", id))
		}
	}
}
