// Google's own Node.js client (@google-cloud/storage, pinned in package.json)
// against tests/doubles/gcs_double.py: uploads files and reads them back.
//
//   node gcs_roundtrip.js ENDPOINT KEYFILE BUCKET SPEC.json
//
// SPEC.json: [{"name", "file", "resumable", "chunkSize" (optional),
// "contentType", "metadata"}]. Prints one JSON line per object: the metadata
// the client got back (getMetadata) and the downloaded bytes' sha256.
//
// The client ignores a key's token_uri: google-auth-library's gtoken posts
// to https://www.googleapis.com/oauth2/v4/token (and uses that as the JWT's
// aud). So the script redirects that one URL of the auth client's transport
// to the key's token_uri; the double is started with
// --accept-aud https://www.googleapis.com/oauth2/v4/token.
//
// And 7.22.0's File#startResumableUpload_ does not pass the Storage's
// useAuthWithCustomEndpoint on to the resumable upload, which then, for any
// endpoint outside googleapis.com, sends no token at all (resumable-upload.js:
// "Only bypass auth if explicitly not requested"). So each file gets a request
// interceptor adding the token the same auth client got from the double.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const {IdempotencyStrategy, Storage} = require('@google-cloud/storage');

const GTOKEN_URL = 'https://www.googleapis.com/oauth2/v4/token';

async function main() {
  const [endpoint, keyFile, bucketName, specFile] = process.argv.slice(2);
  const key = JSON.parse(fs.readFileSync(keyFile, 'utf8'));
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
  const storage = new Storage({
    apiEndpoint: endpoint,
    useAuthWithCustomEndpoint: true,
    credentials: key,
    projectId: key.project_id,
    // Retry uploads without an ifGenerationMatch too (the default retries only
    // conditional ones), so a 503 mid-upload is resumed.
    retryOptions: {idempotencyStrategy: IdempotencyStrategy.RetryAlways},
  });
  const client = await storage.authClient.getClient();
  client.gaxios.interceptors.request.add({
    resolved: async cfg => {
      if (String(cfg.url) === GTOKEN_URL) cfg.url = key.token_uri;
      return cfg;
    },
  });
  const bucket = storage.bucket(bucketName);
  for (const o of spec) {
    const file = bucket.file(o.name);
    const {token} = await client.getAccessToken();
    file.interceptors.push({
      request: reqOpts => {
        reqOpts.headers = {...(reqOpts.headers || {}), Authorization: `Bearer ${token}`};
        return reqOpts;
      },
    });
    const opts = {
      resumable: o.resumable,
      validation: 'crc32c',
      metadata: {contentType: o.contentType, metadata: o.metadata},
    };
    if (o.chunkSize) opts.chunkSize = o.chunkSize;
    await new Promise((resolve, reject) => {
      fs.createReadStream(o.file)
        .pipe(file.createWriteStream(opts))
        .on('error', reject)
        .on('finish', resolve);
    });
    const [meta] = await file.getMetadata();
    const [bytes] = await file.download({validation: 'crc32c'});
    process.stdout.write(JSON.stringify({
      name: o.name,
      metadata: meta,
      downloaded_sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      downloaded_size: bytes.length,
    }) + '\n');
  }
}

main().catch(err => {
  process.stderr.write(`gcs_roundtrip: ${err && err.stack ? err.stack : err}\n`);
  if (err && err.errors) process.stderr.write(JSON.stringify(err.errors) + '\n');
  process.exit(1);
});
