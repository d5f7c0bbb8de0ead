// The SPDY/3 header compression dictionary (SPDY draft 3, section 2.6.10.1): both ends preset zlib with it,
// so a peer's first header block only inflates with exactly these 1,423 bytes. The draft lists it as bytes;
// they are 65 words, each after its length as a 4-byte big-endian number, then a run of common values.
// github.com/moby/spdystream/spdy/dictionary.go, which the Kubernetes peers use, holds the same bytes.

// Separated by commas, which no word contains.
const WORDS = (
  'options,head,post,put,delete,trace,accept,accept-charset,accept-encoding,accept-language,' +
  'accept-ranges,age,allow,authorization,cache-control,connection,content-base,content-encoding,' +
  'content-language,content-length,content-location,content-md5,content-range,content-type,date,' +
  'etag,expect,expires,from,host,if-match,if-modified-since,if-none-match,if-range,' +
  'if-unmodified-since,last-modified,location,max-forwards,pragma,proxy-authenticate,' +
  'proxy-authorization,range,referer,retry-after,server,te,trailer,transfer-encoding,upgrade,' +
  'user-agent,vary,via,warning,www-authenticate,method,get,status,200 OK,version,HTTP/1.1,url,' +
  'public,set-cookie,keep-alive,origin'
).split(',');

const COMMON_VALUES =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 No' +
  'n-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403' +
  ' Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service UnavailableJan Fe' +
  'b Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunke' +
  'd,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/' +
  'javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

function buildDictionary(): Buffer {
  const parts = WORDS.flatMap((word) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(word.length);
    return [length, Buffer.from(word, 'latin1')];
  });
  return Buffer.concat([...parts, Buffer.from(COMMON_VALUES, 'latin1')]);
}

export const SPDY_DICTIONARY: Buffer = buildDictionary();

/** The dictionary's Adler-32 checksum, which names it in a zlib stream header (DICTID). */
export const SPDY_DICTIONARY_ID = 0xe3c6a7c2;
