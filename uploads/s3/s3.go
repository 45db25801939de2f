// Package s3 builds tusd's s3store from the edge's configuration, so that
// every edge serving one bucket, with a shared upload lock, can take over any
// upload: no sticky sessions.
//
// It builds the AWS SDK client itself, from static credentials read from the
// environment, instead of the SDK's default chain: secrets come from the
// environment only, and a missing one fails at start rather than at the first
// upload.
package s3

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/tus/tusd/v2/pkg/s3store"
)

// appID is sent in the User-Agent, so server logs show who called.
const appID = "docstrange-edge"

// New validates cfg, builds an S3 client and checks with HeadBucket that the
// bucket exists and the keys may use it. The store it returns still needs a
// Locker shared by every edge, such as uploads/redislock, and its
// metrics, if wanted, registered with RegisterMetrics.
func New(ctx context.Context, cfg Config) (s3store.S3Store, error) {
	if err := cfg.Validate(); err != nil {
		return s3store.S3Store{}, err
	}
	access, secret := os.Getenv(cfg.AccessKeyEnv), os.Getenv(cfg.SecretKeyEnv)
	for _, v := range []struct{ name, value string }{
		{cfg.AccessKeyEnv, access}, {cfg.SecretKeyEnv, secret},
	} {
		if v.value == "" {
			return s3store.S3Store{}, fmt.Errorf("%w: environment variable %s is unset or empty", ErrNoCredentials, v.name)
		}
	}
	if cfg.TempDir != "" {
		fi, err := os.Stat(cfg.TempDir)
		if err != nil {
			return s3store.S3Store{}, fmt.Errorf("checking temp_dir: %w", err)
		}
		if !fi.IsDir() {
			return s3store.S3Store{}, fmt.Errorf("%w: temp_dir %q is not a folder", ErrInvalidConfig, cfg.TempDir)
		}
	}

	client := awss3.New(awss3.Options{
		AppID:        appID,
		Region:       cfg.Region,
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(access, secret, "")),
		UsePathStyle: cfg.PathStyle,
		BaseEndpoint: baseEndpoint(cfg.Endpoint),
	})
	if err := checkBucket(ctx, client, cfg); err != nil {
		return s3store.S3Store{}, err
	}

	store := s3store.New(cfg.Bucket, client)
	store.ObjectPrefix = cfg.Prefix
	store.PreferredPartSize = cfg.PartSize
	store.MaxBufferedParts = cfg.MaxBufferedParts
	store.TemporaryDirectory = cfg.TempDir
	return store, nil
}

// baseEndpoint is nil for AWS's own endpoints.
func baseEndpoint(endpoint string) *string {
	if endpoint == "" {
		return nil
	}
	return aws.String(endpoint)
}

// checkBucket turns HeadBucket's bare status codes into errors that say
// what to fix.
func checkBucket(ctx context.Context, client *awss3.Client, cfg Config) error {
	_, err := client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)})
	if err == nil {
		return nil
	}
	where := cfg.Endpoint
	if where == "" {
		where = "AWS region " + cfg.Region
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch status.HTTPStatusCode() {
		case 404:
			// versitygw, for one, also answers 404 to an unknown access key,
			// and HEAD has no body to tell the two apart.
			return fmt.Errorf("%w: %q at %s (or the server does not know the access key in %s)",
				ErrBucketNotFound, cfg.Bucket, where, cfg.AccessKeyEnv)
		case 403:
			return fmt.Errorf("%w: %q at %s, with the keys in %s and %s (the policy needs s3:ListBucket)",
				ErrBucketForbidden, cfg.Bucket, where, cfg.AccessKeyEnv, cfg.SecretKeyEnv)
		}
	}
	return fmt.Errorf("checking bucket %q at %s: %w", cfg.Bucket, where, err)
}
