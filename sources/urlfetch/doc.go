// Package urlfetch fetches the document of a URL source
// (POST /api/v1/documents {"source":{"url":…}}) without letting the URL
// reach inside the deployment: no loopback, private, link-local, metadata or
// otherwise special address, on the first request or after any redirect,
// however the address is spelled and whatever DNS answers.
//
// # How an address is pinned
//
// The fetcher never lets net/http resolve a name. Its dialer resolves the
// host once, checks every address, and connects to the checked IP itself;
// the transport still sends the original Host header and TLS server name,
// because only the dial is replaced. A DNS answer that changes between
// Check and Fetch (rebinding) is therefore checked again at the dial and
// never trusted from before. A net.Dialer Control hook then re-checks the
// address the socket actually connects to, just before connect(2): a second
// line that holds even if the dial path changes. Proxies from the
// environment are never used, since a proxy would dial on our behalf.
//
// # Errors
//
// Callers map the errors to the API like this:
//
//   - ErrRefused (a *RefusedError): 400 URL_NOT_ALLOWED; Reason is safe to
//     show the client.
//   - ErrTooLarge: 413 FILE_TOO_LARGE.
//   - ErrStatus (a *StatusError): the origin answered outside 2xx; 422 or
//     502.
//   - ErrTimeout: the fetch ran past Config.Timeout; 422 or 504.
//   - anything else: the origin could not be reached (connection, TLS,
//     temporary DNS failure) or the caller's writer failed. Its text may
//     name internal resolvers, so show the client a generic message.
package urlfetch
