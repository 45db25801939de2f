package keys

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// credentialMessages lists every CredentialError message.
var credentialMessages = []string{
	msgMultipleAuth, msgMultipleAPIKey, msgEmptyAuth, msgEmptyAPIKey,
	msgLongAuth, msgLongAPIKey, msgScheme, msgMalformedBearer,
	msgMalformedAPIKey, msgConflict,
}

const (
	testAPIKey = "dsk_d0bqh2m5s8b0gdah8v60_abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrsq"
	testJWT    = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
)

var credentialCases = []struct {
	name    string
	auth    []string
	apiKey  []string
	want    Credential
	wantErr string
}{
	{name: "none", want: Credential{}},
	{name: "bearer api key", auth: []string{"Bearer " + testAPIKey}, want: Credential{KindAPIKey, testAPIKey}},
	{name: "bearer jwt", auth: []string{"Bearer " + testJWT}, want: Credential{KindBearer, testJWT}},
	{name: "scheme is case-insensitive", auth: []string{"bEARER " + testJWT}, want: Credential{KindBearer, testJWT}},
	{name: "b64token padding", auth: []string{"Bearer abc+/~-._=="}, want: Credential{KindBearer, "abc+/~-._=="}},
	{name: "surrounding spaces trimmed", auth: []string{"  Bearer " + testJWT + "\t"}, want: Credential{KindBearer, testJWT}},
	{name: "several spaces after scheme", auth: []string{"Bearer   " + testJWT}, want: Credential{KindBearer, testJWT}},
	{name: "x-api-key", apiKey: []string{testAPIKey}, want: Credential{KindAPIKey, testAPIKey}},
	{name: "x-api-key trimmed", apiKey: []string{" " + testAPIKey + " "}, want: Credential{KindAPIKey, testAPIKey}},
	{name: "both with the same key", auth: []string{"Bearer " + testAPIKey}, apiKey: []string{testAPIKey}, want: Credential{KindAPIKey, testAPIKey}},
	{name: "both with different keys", auth: []string{"Bearer " + testAPIKey}, apiKey: []string{testAPIKey[:len(testAPIKey)-1] + "a"}, wantErr: msgConflict},
	{name: "jwt and x-api-key", auth: []string{"Bearer " + testJWT}, apiKey: []string{testAPIKey}, wantErr: msgConflict},
	{name: "basic", auth: []string{"Basic dXNlcjpwYXNz"}, wantErr: msgScheme},
	{name: "basic with x-api-key", auth: []string{"Basic dXNlcjpwYXNz"}, apiKey: []string{testAPIKey}, wantErr: msgScheme},
	{name: "unknown scheme", auth: []string{"Token " + testAPIKey}, wantErr: msgScheme},
	{name: "bare token", auth: []string{testAPIKey}, wantErr: msgScheme},
	{name: "scheme only", auth: []string{"Bearer"}, wantErr: msgMalformedBearer},
	{name: "scheme and space", auth: []string{"Bearer "}, wantErr: msgMalformedBearer},
	{name: "two tokens", auth: []string{"Bearer " + testJWT + " " + testJWT}, wantErr: msgMalformedBearer},
	{name: "comma-joined credentials", auth: []string{"Bearer a, Bearer b"}, wantErr: msgMalformedBearer},
	{name: "tab separator", auth: []string{"Bearer\t" + testJWT}, wantErr: msgScheme},
	{name: "control character in token", auth: []string{"Bearer ab\x01cd"}, wantErr: msgMalformedBearer},
	{name: "padding in the middle", auth: []string{"Bearer ab=cd"}, wantErr: msgMalformedBearer},
	{name: "only padding", auth: []string{"Bearer =="}, wantErr: msgMalformedBearer},
	{name: "non-ascii token", auth: []string{"Bearer clé"}, wantErr: msgMalformedBearer},
	{name: "two authorization headers", auth: []string{"Bearer " + testJWT, "Bearer " + testJWT}, wantErr: msgMultipleAuth},
	{name: "two x-api-key headers", apiKey: []string{testAPIKey, testAPIKey}, wantErr: msgMultipleAPIKey},
	{name: "empty authorization", auth: []string{""}, wantErr: msgEmptyAuth},
	{name: "whitespace authorization", auth: []string{" \t "}, wantErr: msgEmptyAuth},
	{name: "empty x-api-key", apiKey: []string{""}, wantErr: msgEmptyAPIKey},
	{name: "empty x-api-key beside bearer", auth: []string{"Bearer " + testAPIKey}, apiKey: []string{" "}, wantErr: msgEmptyAPIKey},
	{name: "x-api-key not a key", apiKey: []string{"hunter2"}, wantErr: msgMalformedAPIKey},
	{name: "x-api-key with bearer scheme", apiKey: []string{"Bearer " + testAPIKey}, wantErr: msgMalformedAPIKey},
	{name: "x-api-key with space inside", apiKey: []string{"dsk_ab cd"}, wantErr: msgMalformedAPIKey},
	{name: "long authorization", auth: []string{"Bearer " + strings.Repeat("a", 8<<10)}, wantErr: msgLongAuth},
	{name: "longest authorization", auth: []string{"Bearer " + strings.Repeat("a", 8<<10-7)}, want: Credential{KindBearer, strings.Repeat("a", 8<<10-7)}},
	{name: "long x-api-key", apiKey: []string{"dsk_" + strings.Repeat("a", 8<<10)}, wantErr: msgLongAPIKey},
}

func credentialHeader(auth, apiKey []string) http.Header {
	h := http.Header{}
	for _, v := range auth {
		h.Add("Authorization", v)
	}
	for _, v := range apiKey {
		h.Add("X-Api-Key", v)
	}
	return h
}

func TestParseCredential(t *testing.T) {
	for _, tt := range credentialCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredential(credentialHeader(tt.auth, tt.apiKey))
			if tt.wantErr != "" {
				var ce *CredentialError
				if !errors.As(err, &ce) || ce.Message != tt.wantErr {
					t.Fatalf("ParseCredential = %+v, %v; want CredentialError %q", got, err, tt.wantErr)
				}
				if got != (Credential{}) {
					t.Fatalf("ParseCredential returned %+v with an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseCredential = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParseCredential(f *testing.F) {
	for _, tt := range credentialCases {
		a := append(slices.Clone(tt.auth), "", "")
		k := append(slices.Clone(tt.apiKey), "", "")
		mask := uint8(0)
		for i, present := range []bool{len(tt.auth) > 0, len(tt.auth) > 1, len(tt.apiKey) > 0, len(tt.apiKey) > 1} {
			if present {
				mask |= 1 << i
			}
		}
		f.Add(a[0], a[1], k[0], k[1], mask)
	}
	f.Fuzz(func(t *testing.T, a1, a2, k1, k2 string, mask uint8) {
		var auth, apiKey []string
		for i, v := range []string{a1, a2, k1, k2} {
			switch {
			case mask&(1<<i) == 0:
			case i < 2:
				auth = append(auth, v)
			default:
				apiKey = append(apiKey, v)
			}
		}
		got, err := ParseCredential(credentialHeader(auth, apiKey))
		values := append(slices.Clone(auth), apiKey...)

		if err != nil {
			var ce *CredentialError
			if !errors.As(err, &ce) || !slices.Contains(credentialMessages, ce.Message) {
				t.Fatalf("error %q is not one of the fixed CredentialError messages", err)
			}
			for _, v := range values {
				v = strings.TrimSpace(v)
				if v != "" && strings.Contains(err.Error(), v) && !slices.ContainsFunc(credentialMessages, func(m string) bool { return strings.Contains(m, v) }) {
					t.Fatalf("error %q echoes a header value", err)
				}
			}
			if got != (Credential{}) {
				t.Fatalf("credential %+v returned with an error", got)
			}
			return
		}

		switch got.Kind {
		case KindNone:
			if got.Value != "" || len(values) != 0 {
				t.Fatalf("KindNone with value %q from headers %q", got.Value, values)
			}
			return
		case KindAPIKey:
			if !strings.HasPrefix(got.Value, KeyPrefix) {
				t.Fatalf("KindAPIKey value %q lacks %s", got.Value, KeyPrefix)
			}
		case KindBearer:
			if strings.HasPrefix(got.Value, KeyPrefix) {
				t.Fatalf("KindBearer value %q is an API key", got.Value)
			}
		default:
			t.Fatalf("unknown kind %d", got.Kind)
		}
		if got.Value == "" {
			t.Fatal("empty value")
		}
		for _, r := range got.Value {
			if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar || r > unicode.MaxASCII {
				t.Fatalf("value %q holds %U", got.Value, r)
			}
		}
		if !slices.ContainsFunc(values, func(v string) bool { return strings.Contains(v, got.Value) }) {
			t.Fatalf("value %q is in no header", got.Value)
		}
		if len(auth) > 1 || len(apiKey) > 1 {
			t.Fatalf("accepted a repeated header: %q %q", auth, apiKey)
		}
	})
}
