package s3

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

var (
	// ErrInvalidConfig wraps every Config value that Validate refuses.
	ErrInvalidConfig = errors.New("s3: invalid config")
	// ErrNoCredentials is returned by New when an environment variable named
	// by the Config is unset or empty.
	ErrNoCredentials = errors.New("s3: missing credentials")
	// ErrBucketNotFound is returned by New when the bucket does not exist.
	ErrBucketNotFound = errors.New("s3: bucket not found")
	// ErrBucketForbidden is returned by New when the server refuses access to
	// the bucket: wrong keys, or a policy without s3:ListBucket.
	ErrBucketForbidden = errors.New("s3: access to bucket denied")
)

// Defaults filled in by Config.Validate. The part sizes are tusd s3store's
// own, which a test keeps in step with tusd.
const (
	// DefaultPrefix is Config.Prefix's default.
	DefaultPrefix = "uploads/"
	// DefaultAccessKeyEnv is Config.AccessKeyEnv's default.
	DefaultAccessKeyEnv = "DOCSTRANGE_S3_ACCESS_KEY"
	// DefaultSecretKeyEnv is Config.SecretKeyEnv's default.
	DefaultSecretKeyEnv = "DOCSTRANGE_S3_SECRET_KEY"
	// DefaultPartSize is Config.PartSize's default: 50 MiB.
	DefaultPartSize = 50 << 20
	// MinPartSize is the smallest part S3 accepts, other than the last: 5 MiB.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest part S3 accepts: 5 GiB.
	MaxPartSize = 5 << 30
	// DefaultMaxBufferedParts is Config.MaxBufferedParts's default.
	DefaultMaxBufferedParts = 20
)

// envName is what a POSIX shell accepts as a variable name. Refusing
// anything else catches a secret pasted where its variable's name belongs.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Config says where tus uploads live in S3. Credentials never appear in it:
// it names the environment variables that hold them.
type Config struct {
	// Endpoint is the base URL of an S3-compatible server, such as
	// http://127.0.0.1:9000. Default: empty, AWS's own endpoint for Region.
	Endpoint string `json:"endpoint,omitempty"`
	// Region is the region that requests are signed for. Required.
	Region string `json:"region,omitempty"`
	// Bucket holds the uploads. It must exist: New checks. Required.
	Bucket string `json:"bucket,omitempty"`
	// Prefix starts every object key: the upload's data at Prefix+id, its
	// tusd info at Prefix+id+".info", and a part smaller than S3's minimum,
	// kept between PATCH requests, at Prefix+id+".part". A trailing "/" is
	// added when missing. Default "uploads/".
	Prefix string `json:"prefix,omitempty"`
	// AccessKeyEnv names the environment variable that holds the access key
	// ID. Default DOCSTRANGE_S3_ACCESS_KEY.
	AccessKeyEnv string `json:"access_key_env,omitempty"`
	// SecretKeyEnv names the environment variable that holds the secret
	// access key. Default DOCSTRANGE_S3_SECRET_KEY.
	SecretKeyEnv string `json:"secret_key_env,omitempty"`
	// PathStyle addresses the bucket in the path (endpoint/bucket/key) rather
	// than the host name, as most S3-compatible servers need. Default false.
	PathStyle bool `json:"path_style,omitempty"`
	// PartSize is the preferred size of each multipart part in bytes, between
	// MinPartSize (5 MiB) and MaxPartSize (5 GiB). tusd buffers up to a part
	// on disk per PATCH before sending it. Default 50 MiB.
	PartSize int64 `json:"part_size,omitempty"`
	// MaxBufferedParts is how many parts a PATCH may buffer on disk while
	// earlier parts are still being sent to S3. Default 20.
	MaxBufferedParts int64 `json:"max_buffered_parts,omitempty"`
	// TempDir is the folder where parts are buffered, which must exist and
	// have room for PartSize*(MaxBufferedParts+1) bytes per PATCH in flight.
	// Default: empty, the system's temporary folder.
	TempDir string `json:"temp_dir,omitempty"`
}

// Validate fills in the defaults and refuses values that S3 or tusd would
// refuse later, or that look like typos.
func (c *Config) Validate() error {
	if c.Region == "" {
		return fmt.Errorf("%w: region is required", ErrInvalidConfig)
	}
	if c.Bucket == "" {
		return fmt.Errorf("%w: bucket is required", ErrInvalidConfig)
	}
	if strings.ContainsAny(c.Bucket, "/ \t\r\n") {
		return fmt.Errorf("%w: bucket %q is not a bucket name; put a key prefix in prefix", ErrInvalidConfig, c.Bucket)
	}
	if c.Endpoint != "" {
		if err := checkEndpoint(c.Endpoint); err != nil {
			return err
		}
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if strings.HasPrefix(c.Prefix, "/") {
		return fmt.Errorf("%w: prefix %q starts with /, which S3 keeps as part of the key", ErrInvalidConfig, c.Prefix)
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if c.AccessKeyEnv == "" {
		c.AccessKeyEnv = DefaultAccessKeyEnv
	}
	if c.SecretKeyEnv == "" {
		c.SecretKeyEnv = DefaultSecretKeyEnv
	}
	for _, f := range []struct{ name, value string }{
		{"access_key_env", c.AccessKeyEnv}, {"secret_key_env", c.SecretKeyEnv},
	} {
		if !envName.MatchString(f.value) {
			// Do not echo the value: it may be the secret itself.
			return fmt.Errorf("%w: %s must name an environment variable (letters, digits, _)", ErrInvalidConfig, f.name)
		}
	}
	switch {
	case c.PartSize == 0:
		c.PartSize = DefaultPartSize
	case c.PartSize < MinPartSize || c.PartSize > MaxPartSize:
		return fmt.Errorf("%w: part_size %d is outside [%d, %d]", ErrInvalidConfig, c.PartSize, MinPartSize, MaxPartSize)
	}
	switch {
	case c.MaxBufferedParts == 0:
		c.MaxBufferedParts = DefaultMaxBufferedParts
	case c.MaxBufferedParts < 0:
		return fmt.Errorf("%w: max_buffered_parts %d is negative", ErrInvalidConfig, c.MaxBufferedParts)
	}
	return nil
}

// checkEndpoint accepts a bare http or https base URL.
func checkEndpoint(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("%w: endpoint: %w", ErrInvalidConfig, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: endpoint %q needs http:// or https://", ErrInvalidConfig, u.Redacted())
	}
	if u.Host == "" {
		return fmt.Errorf("%w: endpoint %q has no host", ErrInvalidConfig, u.Redacted())
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: endpoint %q must be a bare base URL, without credentials, path or query", ErrInvalidConfig, u.Redacted())
	}
	return nil
}
