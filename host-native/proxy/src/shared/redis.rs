//! The Redis backend of [`SharedStore`]. One multiplexed connection (the client's connection
//! manager reconnects it after a failure); counters and buckets change atomically on the
//! server (`INCRBYFLOAT`, `HINCRBY`, a Lua script for the token buckets), never by a
//! read-modify-write from the proxy.
//!
//! Keys, under the configured prefix:
//! - `o:{tenant}:{key}`: an original (string, expires with the originals' TTL);
//! - `l:{tenant}:{session}`: the ledger's frozen count of a conversation (expires after a day);
//! - `r:{scope}`: a key's token buckets (hash; expires once full again);
//! - `b:{period}:all`, `b:{period}:k:{scope}`: spend of a budget period (expire with it);
//! - `c:{hash}`: a response-cache entry (its key already hashes the key scope);
//! - `s:{hour}`: savings counters of an hour (hash; kept 90 days).
//!
//! `{tenant}` and `{scope}` are the hashed key scope: a caller can only name keys of its own
//! tenant, whatever it guesses.

use std::sync::Mutex;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Bucket, SharedError, SharedStore};

/// A conversation's ledger entry outlives any realistic pause in an agent loop.
const LEDGER_TTL_S: u64 = 86_400;
/// Savings hours kept.
const SAVINGS_TTL_S: u64 = 90 * 86_400;

/// Token buckets, refilled to the server's clock: returns admitted (1/0), requests, tokens.
const RATE_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local admit = tonumber(ARGV[3])
local debit = tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 'r', 't', 'at')
local r = tonumber(b[1]) or rpm
local tk = tonumber(b[2]) or tpm
local at = tonumber(b[3]) or now
local dt = math.max(0, now - at) / 60000
if rpm > 0 then r = math.min(rpm, r + dt * rpm) end
if tpm > 0 then tk = math.min(tpm, tk + dt * tpm) end
local ok = 1
if admit == 1 then
  if (rpm > 0 and r < 1) or (tpm > 0 and tk < 0) then
    ok = 0
  elseif rpm > 0 then
    r = r - 1
  end
end
tk = tk - debit
redis.call('HSET', KEYS[1], 'r', tostring(r), 't', tostring(tk), 'at', now)
redis.call('PEXPIRE', KEYS[1], 120000)
return {ok, tostring(r), tostring(tk)}
";

/// The ledger's count only grows.
const MAX_SCRIPT: &str = r"
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > c then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
";

/// The Redis store.
pub struct RedisStore {
    client: redis::Client,
    conn: Mutex<Option<ConnectionManager>>,
    /// One connection attempt at a time (the probe's).
    connecting: tokio::sync::Mutex<()>,
    prefix: String,
    rate: redis::Script,
    max: redis::Script,
}

fn err(e: redis::RedisError) -> SharedError {
    SharedError::Backend(e.to_string())
}

impl RedisStore {
    /// A client for `url` (`redis://` or `rediss://`); it connects on the first probe.
    pub fn new(url: &str, prefix: &str) -> Result<Self, SharedError> {
        let client =
            redis::Client::open(url).map_err(|e| SharedError::Backend(format!("--redis-url: {e}")))?;
        Ok(Self {
            client,
            conn: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            prefix: prefix.to_owned(),
            rate: redis::Script::new(RATE_SCRIPT),
            max: redis::Script::new(MAX_SCRIPT),
        })
    }

    fn conn(&self) -> Result<ConnectionManager, SharedError> {
        self.conn.lock().ok().and_then(|c| c.clone()).ok_or(SharedError::NotConnected)
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut k =
            String::with_capacity(self.prefix.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>());
        k.push_str(&self.prefix);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                k.push(':');
            }
            k.push_str(p);
        }
        k
    }

    async fn connect(&self) -> Result<(), SharedError> {
        let _one = self.connecting.lock().await;
        if self.conn().is_ok() {
            return Ok(());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let manager = self.client.get_connection_manager_with_config(config).await.map_err(err)?;
        if let Ok(mut c) = self.conn.lock() {
            *c = Some(manager);
        }
        Ok(())
    }
}

impl SharedStore for RedisStore {
    fn put_originals<'a>(
        &'a self,
        tenant: &'a str,
        items: &'a [(String, String)],
        fresh: &'a [bool],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let keys: Vec<String> = items.iter().map(|(k, _)| self.key(&["o", tenant, k])).collect();
            // Refreshes first, without their text; whatever Redis no longer holds (evicted,
            // or a restarted server) is sent whole with the new ones.
            let known: Vec<usize> =
                (0..items.len()).filter(|&i| !fresh.get(i).copied().unwrap_or(true)).collect();
            let mut missing: Vec<usize> =
                (0..items.len()).filter(|&i| fresh.get(i).copied().unwrap_or(true)).collect();
            if !known.is_empty() {
                let mut pipe = redis::pipe();
                for &i in &known {
                    pipe.cmd("PEXPIRE").arg(&keys[i]).arg(ms);
                }
                let held: Vec<i64> = pipe.query_async(&mut conn).await.map_err(err)?;
                missing.extend(known.iter().zip(held).filter(|(_, h)| *h == 0).map(|(i, _)| *i));
            }
            if !missing.is_empty() {
                let mut pipe = redis::pipe();
                for &i in &missing {
                    pipe.cmd("SET").arg(&keys[i]).arg(&items[i].1).arg("PX").arg(ms).ignore();
                }
                let () = pipe.query_async(&mut conn).await.map_err(err)?;
            }
            Ok(())
        }
        .boxed()
    }

    fn refresh_originals<'a>(
        &'a self,
        tenant: &'a str,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<bool>, SharedError>> {
        async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let mut conn = self.conn()?;
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut pipe = redis::pipe();
            for key in keys {
                pipe.cmd("PEXPIRE").arg(self.key(&["o", tenant, key])).arg(ms);
            }
            let held: Vec<i64> = pipe.query_async(&mut conn).await.map_err(err)?;
            Ok(held.into_iter().map(|h| h != 0).collect())
        }
        .boxed()
    }

    fn get_original<'a>(
        &'a self,
        tenant: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SharedError>> {
        async move {
            let mut conn = self.conn()?;
            redis::cmd("GET").arg(self.key(&["o", tenant, key])).query_async(&mut conn).await.map_err(err)
        }
        .boxed()
    }

    fn ledger_record<'a>(
        &'a self,
        tenant: &'a str,
        session: &'a str,
        count: u32,
    ) -> BoxFuture<'a, Result<(), SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let _: i64 = self
                .max
                .key(self.key(&["l", tenant, session]))
                .arg(count)
                .arg(LEDGER_TTL_S)
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            Ok(())
        }
        .boxed()
    }

    fn ledger_frozen<'a>(
        &'a self,
        tenant: &'a str,
        session: &'a str,
    ) -> BoxFuture<'a, Result<u32, SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let n: Option<u32> = redis::cmd("GET")
                .arg(self.key(&["l", tenant, session]))
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            Ok(n.unwrap_or(0))
        }
        .boxed()
    }

    fn rate<'a>(
        &'a self,
        scope: &'a str,
        rpm: u32,
        tpm: u64,
        admit: bool,
        tokens: u64,
    ) -> BoxFuture<'a, Result<Bucket, SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let (ok, requests, left): (i64, String, String) = self
                .rate
                .key(self.key(&["r", scope]))
                .arg(rpm)
                .arg(tpm)
                .arg(u8::from(admit))
                .arg(tokens)
                .invoke_async(&mut conn)
                .await
                .map_err(err)?;
            Ok(Bucket {
                admitted: ok == 1,
                requests: requests.parse().unwrap_or(0.0),
                tokens: left.parse().unwrap_or(0.0),
            })
        }
        .boxed()
    }

    fn budget_add<'a>(
        &'a self,
        period_start: u64,
        expires_at: u64,
        scope: &'a str,
        usd: f64,
    ) -> BoxFuture<'a, Result<(), SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let period = period_start.to_string();
            let (all, key) = (self.key(&["b", &period, "all"]), self.key(&["b", &period, "k", scope]));
            let () = redis::pipe()
                .cmd("INCRBYFLOAT")
                .arg(&all)
                .arg(usd)
                .ignore()
                .cmd("EXPIREAT")
                .arg(&all)
                .arg(expires_at)
                .ignore()
                .cmd("INCRBYFLOAT")
                .arg(&key)
                .arg(usd)
                .ignore()
                .cmd("EXPIREAT")
                .arg(&key)
                .arg(expires_at)
                .ignore()
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            Ok(())
        }
        .boxed()
    }

    fn budget_spent<'a>(
        &'a self,
        period_start: u64,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<(f64, f64), SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let period = period_start.to_string();
            let (all, key): (Option<f64>, Option<f64>) = redis::cmd("MGET")
                .arg(self.key(&["b", &period, "all"]))
                .arg(self.key(&["b", &period, "k", scope]))
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            Ok((all.unwrap_or(0.0), key.unwrap_or(0.0)))
        }
        .boxed()
    }

    fn cache_get<'a>(&'a self, key: &'a [u8; 32]) -> BoxFuture<'a, Result<Option<Vec<u8>>, SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let hex = blake3::Hash::from_bytes(*key).to_hex();
            redis::cmd("GET").arg(self.key(&["c", hex.as_str()])).query_async(&mut conn).await.map_err(err)
        }
        .boxed()
    }

    fn cache_put<'a>(
        &'a self,
        key: &'a [u8; 32],
        value: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let hex = blake3::Hash::from_bytes(*key).to_hex();
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            redis::cmd("SET")
                .arg(self.key(&["c", hex.as_str()]))
                .arg(value)
                .arg("PX")
                .arg(ms)
                .query_async(&mut conn)
                .await
                .map_err(err)
        }
        .boxed()
    }

    fn savings_add<'a>(
        &'a self,
        hour: u64,
        fields: &'a [(&'static str, u64)],
    ) -> BoxFuture<'a, Result<(), SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let key = self.key(&["s", &hour.to_string()]);
            let mut pipe = redis::pipe();
            for (field, n) in fields {
                pipe.cmd("HINCRBY").arg(&key).arg(*field).arg(*n).ignore();
            }
            pipe.cmd("EXPIRE").arg(&key).arg(SAVINGS_TTL_S).ignore();
            let () = pipe.query_async(&mut conn).await.map_err(err)?;
            Ok(())
        }
        .boxed()
    }

    fn savings_since<'a>(
        &'a self,
        since_hour: u64,
        now_hour: u64,
    ) -> BoxFuture<'a, Result<Vec<(String, u64)>, SharedError>> {
        async move {
            let mut conn = self.conn()?;
            let mut pipe = redis::pipe();
            let mut hour = since_hour;
            while hour <= now_hour {
                pipe.cmd("HGETALL").arg(self.key(&["s", &hour.to_string()]));
                hour += 3600;
            }
            let hours: Vec<Vec<(String, u64)>> = pipe.query_async(&mut conn).await.map_err(err)?;
            let mut sum: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
            for (field, n) in hours.into_iter().flatten() {
                *sum.entry(field).or_default() += n;
            }
            Ok(sum.into_iter().collect())
        }
        .boxed()
    }

    fn probe(&self) -> BoxFuture<'_, Result<(), SharedError>> {
        async move {
            if self.conn().is_err() {
                self.connect().await?;
            }
            let mut conn = self.conn()?;
            let pong: String = redis::cmd("PING").query_async(&mut conn).await.map_err(err)?;
            if pong == "PONG" { Ok(()) } else { Err(SharedError::Backend(format!("PING answered {pong}"))) }
        }
        .boxed()
    }
}
