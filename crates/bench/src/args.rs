//! Command-line arguments of `ferromq bench produce` and `ferromq bench consume`.

use std::time::Duration;

use clap::{Args, ValueEnum};

/// Options both subcommands share: where the cluster is, what to use, when to stop, how to report.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Name servers, `host:port[;host:port]`.
    #[arg(long, env = "NAMESRV_ADDR", value_name = "ADDRS")]
    pub namesrv: String,

    /// Topic to produce to or consume from.
    #[arg(long, default_value = "BenchTopic")]
    pub topic: String,

    /// Stop after this long (`10s`, `500ms`, `2m`, `1h`; a bare number is seconds).
    /// The default is 10s, or no limit for `consume --until-caught-up`.
    #[arg(long, value_parser = parse_duration, conflicts_with = "count", value_name = "DURATION")]
    pub duration: Option<Duration>,

    /// Stop after this many messages instead of after a duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub count: Option<u64>,

    /// Print a line of statistics this often.
    #[arg(long, value_parser = parse_duration, default_value = "1s", value_name = "DURATION")]
    pub report_interval: Duration,

    /// Print the summary as one JSON object on stdout, and the per-interval lines as JSON on stderr.
    #[arg(long)]
    pub json: bool,

    /// Timeout of every request (and of connecting).
    #[arg(long, value_parser = parse_duration, default_value = "5s", value_name = "DURATION")]
    pub timeout: Duration,

    #[command(flatten)]
    pub connect: ferromq_client::ConnectArgs,
}

impl CommonArgs {
    /// A client of the cluster, over TLS and with credentials when the options ask for them.
    ///
    /// # Errors
    /// TLS options that do not load.
    pub fn client(&self) -> Result<ferromq_client::MqClient, crate::BenchError> {
        let options = self
            .connect
            .options()
            .map_err(|e| crate::BenchError::Args(format!("TLS: {e}")))?;
        Ok(ferromq_client::MqClient::with_options(
            &self.namesrv,
            self.timeout,
            options,
        ))
    }
}

/// `ferromq bench produce`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "\
Examples:
  ferromq bench produce --namesrv 127.0.0.1:9876 --duration 30s
  ferromq bench produce --namesrv 127.0.0.1:9876 --topic T --size 4096 --inflight 256 --producers 4 --count 1000000
  ferromq bench produce --namesrv 127.0.0.1:9876 --batch 32 --create-topic-queues 8 --json > produce.json")]
pub struct ProduceArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Body size of each message, in bytes.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=64 * 1024 * 1024), value_name = "BYTES")]
    pub size: u32,

    /// Requests outstanding at once, in total, split across the producers.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000), value_name = "N")]
    pub inflight: u32,

    /// Independent clients, each with its own connection to every broker.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024), value_name = "N")]
    pub producers: u32,

    /// Messages per request; above 1, requests are SEND_BATCH_MESSAGE.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000), value_name = "N")]
    pub batch: u32,

    /// Producer group named in the requests.
    #[arg(long, default_value = "BenchProducerGroup")]
    pub group: String,

    /// TAGS property of every message (none by default).
    #[arg(long)]
    pub tag: Option<String>,

    /// Give every message its own UNIQ_KEY property, as the Java producer does (costs a little
    /// client CPU; a batch body is then encoded per request).
    #[arg(long)]
    pub uniq_key: bool,

    /// Make sure the topic has at least this many queues on every master broker of the cluster:
    /// create (or grow) it where it has fewer, then wait for its route. Without it, a topic with
    /// no route is sent through the route of TBW102, which works when the brokers auto-create
    /// topics.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024), value_name = "QUEUES")]
    pub create_topic_queues: Option<u32>,
}

/// Where a consume run starts in each queue.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The queue's minimum offset.
    Earliest,
    /// The queue's maximum offset: only messages produced from now on.
    Latest,
    /// The group's committed offset, or the earliest when it has none.
    Committed,
}

impl StartFrom {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StartFrom::Earliest => "earliest",
            StartFrom::Latest => "latest",
            StartFrom::Committed => "committed",
        }
    }
}

/// `ferromq bench consume`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "\
Examples:
  ferromq bench consume --namesrv 127.0.0.1:9876 --from earliest --until-caught-up
  ferromq bench consume --namesrv 127.0.0.1:9876 --topic T --group G --batch 64 --duration 1m --json")]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Consumer group named in the pulls (and whose offsets are committed at the end).
    #[arg(long, default_value = "BenchGroup")]
    pub group: String,

    /// Messages asked for per pull (maxMsgNums).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=100_000), value_name = "N")]
    pub batch: u32,

    /// Where each queue starts.
    #[arg(long, value_enum, default_value_t = StartFrom::Committed)]
    pub from: StartFrom,

    /// Pull without long polling and stop each queue when it reaches its maximum offset; the run
    /// ends when every queue has caught up (or at --duration / --count).
    #[arg(long)]
    pub until_caught_up: bool,

    /// Decode every message fully, as a client application would, instead of only walking the
    /// records to count them and their body bytes.
    #[arg(long)]
    pub decode: bool,

    /// Do not commit the reached offsets for the group at the end.
    #[arg(long)]
    pub no_commit: bool,
}

/// Parses `10s`, `500ms`, `2m`, `1h`, `250us`, `1.5s`; a bare number is seconds.
///
/// # Errors
/// An empty, negative, zero or unparsable value, or an unknown unit.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "invalid duration {s:?}: expected a number and a unit, like 10s or 500ms"
        ));
    }
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: bad number {num:?}"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" | "mins" => 60.0,
        "h" | "hr" | "hrs" => 3600.0,
        other => {
            return Err(format!(
                "invalid duration {s:?}: unknown unit {other:?} (use ns, us, ms, s, m or h)"
            ))
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > 1e9 {
        return Err(format!("invalid duration {s:?}: too large"));
    }
    let d = Duration::from_secs_f64(secs);
    if d.is_zero() {
        return Err(format!("invalid duration {s:?}: must be greater than zero"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BenchArgs, BenchCommand};
    use clap::{CommandFactory, Parser};

    #[derive(Parser, Debug)]
    #[command(name = "bench")]
    struct TestCli {
        #[command(flatten)]
        args: BenchArgs,
    }

    fn parse(argv: &[&str]) -> Result<BenchCommand, clap::Error> {
        TestCli::try_parse_from(std::iter::once("bench").chain(argv.iter().copied()))
            .map(|c| c.args.command)
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration(" 7 s "), Ok(Duration::from_secs(7)));
        for bad in ["", "s", "10x", "-1s", "0s", "0", "1.2.3s", "ms10", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        TestCli::command().debug_assert();
    }

    #[test]
    fn produce_defaults() {
        let BenchCommand::Produce(p) = parse(&["produce", "--namesrv", "127.0.0.1:9876"]).unwrap()
        else {
            panic!("expected produce")
        };
        assert_eq!(p.common.namesrv, "127.0.0.1:9876");
        assert_eq!(p.common.topic, "BenchTopic");
        assert_eq!(p.common.duration, None);
        assert_eq!(p.common.count, None);
        assert_eq!(p.common.report_interval, Duration::from_secs(1));
        assert!(!p.common.json);
        assert_eq!((p.size, p.inflight, p.producers, p.batch), (1024, 64, 1, 1));
        assert_eq!(p.create_topic_queues, None);
        assert!(!p.uniq_key);
    }

    #[test]
    fn produce_all_options() {
        let cmd = parse(&[
            "produce",
            "--namesrv",
            "a:1;b:2",
            "--topic",
            "T",
            "--size",
            "100",
            "--inflight",
            "8",
            "--producers",
            "2",
            "--batch",
            "16",
            "--duration",
            "500ms",
            "--report-interval",
            "2s",
            "--json",
            "--create-topic-queues",
            "4",
            "--tag",
            "TagA",
            "--uniq-key",
            "--group",
            "PG",
            "--timeout",
            "1s",
        ])
        .unwrap();
        let BenchCommand::Produce(p) = cmd else {
            panic!("expected produce")
        };
        assert_eq!(p.common.namesrv, "a:1;b:2");
        assert_eq!(p.common.topic, "T");
        assert_eq!((p.size, p.inflight, p.producers, p.batch), (100, 8, 2, 16));
        assert_eq!(p.common.duration, Some(Duration::from_millis(500)));
        assert_eq!(p.common.report_interval, Duration::from_secs(2));
        assert_eq!(p.common.timeout, Duration::from_secs(1));
        assert!(p.common.json && p.uniq_key);
        assert_eq!(p.create_topic_queues, Some(4));
        assert_eq!(p.tag.as_deref(), Some("TagA"));
        assert_eq!(p.group, "PG");
    }

    #[test]
    fn produce_refusals() {
        assert!(parse(&["produce"]).is_err() || std::env::var_os("NAMESRV_ADDR").is_some());
        assert!(parse(&[
            "produce",
            "--namesrv",
            "x:1",
            "--duration",
            "10s",
            "--count",
            "5"
        ])
        .is_err());
        assert!(parse(&["produce", "--namesrv", "x:1", "--duration", "soon"]).is_err());
        assert!(parse(&["produce", "--namesrv", "x:1", "--size", "0"]).is_err());
        assert!(parse(&["produce", "--namesrv", "x:1", "--inflight", "0"]).is_err());
        assert!(parse(&["produce", "--namesrv", "x:1", "--count", "0"]).is_err());
        assert!(parse(&["produce", "--namesrv", "x:1", "--batch", "0"]).is_err());
    }

    #[test]
    fn consume_options() {
        let BenchCommand::Consume(c) = parse(&["consume", "--namesrv", "x:1"]).unwrap() else {
            panic!("expected consume")
        };
        assert_eq!(
            (c.group.as_str(), c.batch, c.from),
            ("BenchGroup", 32, StartFrom::Committed)
        );
        assert!(!c.until_caught_up && !c.decode && !c.no_commit);

        let cmd = parse(&[
            "consume",
            "--namesrv",
            "x:1",
            "--topic",
            "T",
            "--group",
            "G",
            "--batch",
            "64",
            "--from",
            "earliest",
            "--count",
            "1000",
            "--until-caught-up",
            "--json",
            "--decode",
            "--no-commit",
        ])
        .unwrap();
        let BenchCommand::Consume(c) = cmd else {
            panic!("expected consume")
        };
        assert_eq!(
            (c.common.topic.as_str(), c.group.as_str(), c.batch),
            ("T", "G", 64)
        );
        assert_eq!(c.from, StartFrom::Earliest);
        assert_eq!(c.common.count, Some(1000));
        assert!(c.until_caught_up && c.common.json && c.decode && c.no_commit);
        assert!(parse(&["consume", "--namesrv", "x:1", "--from", "middle"]).is_err());
        for from in [StartFrom::Earliest, StartFrom::Latest, StartFrom::Committed] {
            let BenchCommand::Consume(c) =
                parse(&["consume", "--namesrv", "x:1", "--from", from.name()]).unwrap()
            else {
                panic!("expected consume")
            };
            assert_eq!(c.from, from);
        }
        assert!(parse(&["consume", "--namesrv", "x:1", "--duration", "2m"]).is_ok());
    }

    #[test]
    fn help_has_an_example_per_subcommand() {
        let mut cmd = TestCli::command();
        for (sub, example) in [
            ("produce", "ferromq bench produce --namesrv"),
            ("consume", "ferromq bench consume --namesrv"),
        ] {
            let help = cmd
                .find_subcommand_mut(sub)
                .unwrap()
                .render_long_help()
                .to_string();
            assert!(
                help.contains(example),
                "{sub} help lacks an example:\n{help}"
            );
            assert!(help.contains("--duration"), "{sub} help lacks --duration");
        }
    }
}
