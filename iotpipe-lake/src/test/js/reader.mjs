// The lake table read by icebird (metadata, manifests and Parquet in JavaScript: no code shared with the Java writer)
// over the S3 API. icebird 0.3.1 only knows AWS's virtual-host URLs, so each request is sent path-style to the given
// endpoint instead, signed with AWS Signature V4 (aws4) like any S3 client's.
// Usage: node reader.mjs <endpoint> <region> <table location s3://...> <metadata file name>; credentials in
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Prints one JSON line.
import aws4 from 'aws4'
import { icebergMetadata, icebergRead } from 'icebird'

const [endpoint, region, tableUrl, metadataFileName] = process.argv.slice(2)
const credentials = { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY }
const target = new URL(endpoint)
const nativeFetch = globalThis.fetch
let requests = 0
globalThis.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === 'string' ? input : input.url)
  const bucket = url.hostname.match(/^(.+)\.s3\.amazonaws\.com$/)
  if (!bucket) throw new Error(`not an S3 URL: ${url}`)
  // Each key segment percent-encoded as S3 canonicalises it (event_day=… holds a '='), so the signature matches.
  const key = url.pathname.split('/').map(seg => encodeURIComponent(decodeURIComponent(seg))
    .replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())).join('/')
  const path = `/${bucket[1]}${key}${url.search}`
  const headers = Object.fromEntries(new Headers(init.headers ?? {}))
  const signed = aws4.sign({ host: target.host, path, method: init.method ?? 'GET', headers, service: 's3', region }, credentials)
  requests++
  const res = await nativeFetch(`${target.protocol}//${target.host}${path}`, { ...init, headers: signed.headers })
  if (!res.ok && res.status !== 206) throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${res.status}`)
  return res
}

const metadata = await icebergMetadata({ tableUrl, metadataFileName })
const schema = metadata.schemas.find(s => s['schema-id'] === metadata['current-schema-id'])
const rows = await icebergRead({ tableUrl, metadata })
const keys = new Map()
for (const r of rows) {
  const k = `${r.device_id}:${r.seq}`
  keys.set(k, (keys.get(k) ?? 0) + 1)
}
const sample = rows[0] ?? {}
console.log(JSON.stringify({
  formatVersion: metadata['format-version'],
  rows: rows.length,
  distinctKeys: keys.size,
  duplicatedKeys: [...keys.values()].filter(n => n > 1).length,
  columnTypes: Object.fromEntries(schema.fields.map(f => [f.name, typeof f.type === 'string' ? f.type : f.type.type])),
  tsValue: sample.ts instanceof Date ? sample.ts.toISOString() : String(sample.ts),
  requests,
}))
