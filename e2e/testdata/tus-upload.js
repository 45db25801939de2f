// Drives the stock tus-js-client against the edge, as a browser or a Node
// service would: upload in chunks, abort midway, resume from the upload URL
// with a fresh Upload (as after a reload), finish. Prints one JSON line.
//
//   node tus-upload.js <endpoint> <api key> <file> <chunk bytes> <metadata JSON> [abort]
'use strict';
const tus = require('tus-js-client');
const fs = require('fs');

const [,, endpoint, key, file, chunk, metaJSON, abort] = process.argv;
const data = fs.readFileSync(file);

function run(uploadUrl, stopHalfway) {
  return new Promise((resolve, reject) => {
    let aborted = false;
    const upload = new tus.Upload(data, {
      endpoint,
      uploadUrl,
      chunkSize: Number(chunk),
      retryDelays: [0, 200, 500],
      headers: { Authorization: 'Bearer ' + key },
      metadata: JSON.parse(metaJSON),
      onError: reject,
      onProgress(sent, total) {
        if (stopHalfway && !aborted && sent >= total / 2) {
          aborted = true;
          upload.abort().then(() => resolve({ url: upload.url, sent }));
        }
      },
      onAfterResponse(req, res) {
        const job = res.getHeader('X-Job-ID');
        if (job) upload._jobID = job;
      },
      onSuccess() { resolve({ url: upload.url, done: true, job: upload._jobID || null }); },
    });
    upload.start();
  });
}

(async () => {
  const out = {};
  let url = null;
  if (abort === 'abort') {
    const first = await run(null, true);
    out.abortedAt = first.sent;
    url = first.url;
  }
  const done = await run(url, false);
  out.url = done.url;
  out.job = done.job;
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
