package ingest

// CheckBaseURL reports whether New would accept raw as Config.BaseURL, so
// front ends can reject a bad endpoint while validating their own config.
func CheckBaseURL(raw string, allowInsecure bool) error {
	_, err := parseBaseURL(raw, allowInsecure)
	return err
}
