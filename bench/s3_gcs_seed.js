// The seed's S3 -> GCS copy (seed 001, s3-multicloud-backup) rebuilt with the
// official Node clients pinned in bench/node/package-lock.json, for
// bench/s3_gcs_copy.py: @aws-sdk/client-s3 GetObject downloaded to a file in
// a temporary directory, then @google-cloud/storage bucket.upload(file,
// {validation: 'crc32c', resumable: true}), as the seed's handler does.
//
//   node s3_gcs_seed.js CONFIG.json
//
// CONFIG.json: {"s3_endpoint", "region", "src_bucket", "gcs_endpoint",
// "key_file" (service-account JSON), "dst_bucket", "tmp_dir", "warmup_key",
// "key"}; AWS keys from the environment (AWS_ACCESS_KEY_ID, ...).
//
// Copies warmup_key first (untimed: the clients made, a token fetched, the
// connections open, as in a warm Lambda container), then key, timed. Prints
// one JSON line: startup_ms (process start to the clients' modules loaded),
// copy_ms (GetObject sent to the upload's answer), download_ms, upload_ms,
// cpu_ms (this process's user + system CPU over copy_ms),
// size, crc32c (what the storage answered), vm_hwm_kib (this process's peak
// RSS, /proc/self/status, read after the copy).
//
// The two workarounds of tests/node/gcs_roundtrip.js, for the same reasons:
// the auth client's fixed token URL redirected to the key's token_uri (the
// double accepts that URL as the JWT's aud), and the token added to the
// File's requests (7.22.0's resumable upload sends none to a custom
// endpoint otherwise).
'use strict';
const {performance} = require('perf_hooks');
const fs = require('fs');
const path = require('path');
const {pipeline} = require('stream/promises');
const {S3Client, GetObjectCommand} = require('@aws-sdk/client-s3');
const {Storage} = require('@google-cloud/storage');
const startupMs = performance.now();

const GTOKEN_URL = 'https://www.googleapis.com/oauth2/v4/token';

function vmHwmKib() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : null;
}

async function copy(s3, bucket, client, cfg, key) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const obj = await s3.send(new GetObjectCommand({Bucket: cfg.src_bucket, Key: key}));
  const file = path.join(cfg.tmp_dir, path.basename(key));
  await pipeline(obj.Body, fs.createWriteStream(file));
  const t1 = performance.now();
  const dest = bucket.file(key);
  const {token} = await client.getAccessToken();
  dest.interceptors.push({
    request: reqOpts => {
      reqOpts.headers = {...(reqOpts.headers || {}), Authorization: `Bearer ${token}`};
      return reqOpts;
    },
  });
  const [uploaded] = await bucket.upload(file, {
    destination: dest,
    validation: 'crc32c',
    resumable: true,
    metadata: {contentType: obj.ContentType, metadata: obj.Metadata},
  });
  const t2 = performance.now();
  const c = process.cpuUsage(c0);
  fs.unlinkSync(file);
  return {download_ms: t1 - t0, upload_ms: t2 - t1, copy_ms: t2 - t0, cpu_ms: (c.user + c.system) / 1000,
          size: Number(uploaded.metadata.size), crc32c: uploaded.metadata.crc32c};
}

async function main() {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const key = JSON.parse(fs.readFileSync(cfg.key_file, 'utf8'));
  const s3 = new S3Client({region: cfg.region, endpoint: cfg.s3_endpoint, forcePathStyle: true});
  const storage = new Storage({
    apiEndpoint: cfg.gcs_endpoint,
    useAuthWithCustomEndpoint: true,
    credentials: key,
    projectId: key.project_id,
  });
  const client = await storage.authClient.getClient();
  client.gaxios.interceptors.request.add({
    resolved: async c => {
      if (String(c.url) === GTOKEN_URL) c.url = key.token_uri;
      return c;
    },
  });
  const bucket = storage.bucket(cfg.dst_bucket);
  await copy(s3, bucket, client, cfg, cfg.warmup_key);
  const r = await copy(s3, bucket, client, cfg, cfg.key);
  process.stdout.write(JSON.stringify({startup_ms: startupMs, ...r, vm_hwm_kib: vmHwmKib()}) + '\n');
}

main().catch(err => {
  process.stderr.write(`s3_gcs_seed: ${err.stack || err}\n`);
  process.exit(1);
});
