package sdkbridge

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// readEnv reads the variables that options override by being applied
// after: AGENTOS_INSECURE and AGENTOS_TIMEOUT. A malformed value fails,
// naming the variable, rather than being ignored.
func (c *config) readEnv() error {
	if v := strings.TrimSpace(os.Getenv(EnvInsecure)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("agentos: %s: %q is not true or false", EnvInsecure, v)
		}
		c.allowInsecure = b
	}
	if v := strings.TrimSpace(os.Getenv(EnvTimeout)); v != "" {
		d, err := parseEnvTimeout(v)
		if err != nil {
			return fmt.Errorf("agentos: %s: %w", EnvTimeout, err)
		}
		c.timeout = d
	}
	return nil
}

// parseEnvTimeout reads milliseconds, as OTEL_EXPORTER_OTLP_TIMEOUT does,
// or a Go duration.
func parseEnvTimeout(v string) (time.Duration, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		if ms <= 0 {
			return 0, fmt.Errorf("%q must be positive", v)
		}
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is neither milliseconds nor a positive duration such as 10s", v)
	}
	return d, nil
}

// tlsFromEnv builds the default client's TLS configuration from
// AGENTOS_CERTIFICATE, AGENTOS_CLIENT_CERTIFICATE and AGENTOS_CLIENT_KEY;
// nil when none is set.
func tlsFromEnv() (*tls.Config, error) {
	ca := os.Getenv(EnvCertificate)
	cert, key := os.Getenv(EnvClientCertificate), os.Getenv(EnvClientKey)
	if ca == "" && cert == "" && key == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("agentos: %s: %w", EnvCertificate, err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("agentos: %s: %s holds no PEM certificate", EnvCertificate, ca)
		}
	}
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("agentos: %s and %s: set both or neither", EnvClientCertificate, EnvClientKey)
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("agentos: %s / %s: %w", EnvClientCertificate, EnvClientKey, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
