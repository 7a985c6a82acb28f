package ingest

// CheckBaseURL reports whether New would accept raw as Config.BaseURL, so
// front ends can reject a bad endpoint while validating their own config.
// The error names no setting; the caller adds its own setting's name.
func CheckBaseURL(raw string, allowInsecure bool) error {
	_, err := checkEndpoint(raw, allowInsecure)
	return err
}
