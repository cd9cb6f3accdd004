//! The command tree of `ferromq admin`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

use crate::time::{parse_iso_duration, parse_time, parse_timeout};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    Json,
    Csv,
}

/// `ferromq admin`: topics, groups and consumer progress of a cluster.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    ferromq admin -n 127.0.0.1:9876 offsets describe --group orders\n  \
    ferromq admin offsets reset --group orders --topic Orders --to-datetime 2025-11-24T10:00:00Z\n  \
    ferromq admin offsets reset --group orders --topic Orders --by-duration PT1H --execute\n  \
    ferromq admin resetOffsetByTime -g orders -t Orders -s now\n\n\
    Exit codes: 0 done, 1 error, 2 bad usage, 3 partially applied (failures listed).")]
pub struct AdminArgs {
    /// Name servers, `host:port[;host:port]`.
    #[arg(
        short = 'n',
        long,
        env = "FERROMQ_NAMESRV",
        global = true,
        default_value = "127.0.0.1:9876"
    )]
    pub namesrv: String,
    /// Output format: readable tables, or JSON for scripts.
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub output: Output,
    /// Timeout of every request (5s, 500ms, 1m).
    #[arg(long, default_value = "5s", value_parser = parse_timeout, global = true)]
    pub timeout: Duration,
    /// Use only upstream request codes, as against an Apache RocketMQ broker (`offsets
    /// describe`, `export` and `reset` then use upstream codes, the rest of the family refuses;
    /// the mqadmin names fall back to upstream codes).
    #[arg(long, global = true)]
    pub no_extensions: bool,
    #[command(flatten)]
    pub connect: ferromq_client::ConnectArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Consumer progress: reset, describe, export, import, clone, delete, history, undo.
    #[command(
        after_help = "Examples:\n  ferromq admin offsets describe --group orders\n  \
        ferromq admin offsets reset --group orders --topic Orders --to-earliest"
    )]
    Offsets {
        #[command(subcommand)]
        command: OffsetsCommand,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  ferromq admin completions bash > /etc/bash_completion.d/ferromq\n  \
        ferromq admin completions zsh > ~/.zfunc/_ferromq"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    #[command(flatten)]
    Auth(crate::AuthCommand),
    /// mqadmin resetOffsetByTime: move a group to the first message stored at or after a time (applies at once).
    #[command(
        name = "resetOffsetByTime",
        after_help = "Examples:\n  \
        ferromq admin resetOffsetByTime -g orders -t Orders -s now\n  \
        ferromq admin resetOffsetByTime -g orders -t Orders -s 2025-11-24#10:00:00:000\n  \
        ferromq admin resetOffsetByTime -g orders -t Orders -s now -b 127.0.0.1:10911 -q 3 -o 1200"
    )]
    ResetOffsetByTime {
        /// Consumer group.
        #[arg(short = 'g', long = "group")]
        group: String,
        /// Topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Time: now, epoch ms, yyyy-MM-dd#HH:mm:ss:SSS or ISO 8601.
        #[arg(short = 's', long = "timestamp", value_parser = parse_time)]
        timestamp: i64,
        /// Force: when false, only move offsets backwards (never skip unconsumed messages).
        #[arg(short = 'f', long = "force", default_value = "true", action = clap::ArgAction::Set)]
        force: bool,
        /// Only the brokers of this cluster.
        #[arg(short = 'c', long = "cluster")]
        cluster: Option<String>,
        /// Single-queue mode: the broker address (with -q).
        #[arg(short = 'b', long = "broker", requires = "queue")]
        broker_addr: Option<String>,
        /// Single-queue mode: the queue id (with -b).
        #[arg(short = 'q', long = "queue", requires = "broker_addr")]
        queue: Option<i32>,
        /// Single-queue mode: this offset instead of the one found by time.
        #[arg(short = 'o', long = "offset", requires = "queue")]
        offset: Option<i64>,
    },
    /// mqadmin skipAccumulatedMessage: move a group to the end of every queue (applies at once).
    #[command(
        name = "skipAccumulatedMessage",
        after_help = "Examples:\n  \
        ferromq admin skipAccumulatedMessage -g orders -t Orders"
    )]
    SkipAccumulatedMessage {
        #[arg(short = 'g', long = "group")]
        group: String,
        #[arg(short = 't', long = "topic")]
        topic: String,
        #[arg(short = 'f', long = "force", default_value = "true", action = clap::ArgAction::Set)]
        force: bool,
        /// Only the brokers of this cluster.
        #[arg(short = 'c', long = "cluster")]
        cluster: Option<String>,
    },
    /// mqadmin cloneGroupOffset: copy a group's offsets to another group (applies at once).
    #[command(
        name = "cloneGroupOffset",
        after_help = "Examples:\n  \
        ferromq admin cloneGroupOffset -s orders -d orders-replay -t Orders"
    )]
    CloneGroupOffset {
        /// Source group.
        #[arg(short = 's', long = "srcGroup")]
        src: String,
        /// Destination group.
        #[arg(short = 'd', long = "destGroup")]
        dst: String,
        /// Topic (all topics of the source group when omitted).
        #[arg(short = 't', long = "topic")]
        topic: Option<String>,
        /// Upstream flag, accepted for scripts; like mqadmin's own cloneGroupOffset it does not
        /// change the result (offsets of offline groups are always copied).
        #[arg(short = 'o', long = "offline")]
        offline: Option<bool>,
    },
    /// mqadmin consumerProgress: lag of a group per queue (or of every group).
    #[command(
        name = "consumerProgress",
        after_help = "Examples:\n  \
        ferromq admin consumerProgress -g orders\n  ferromq admin consumerProgress"
    )]
    ConsumerProgress {
        #[arg(short = 'g', long = "groupName")]
        group: Option<String>,
        #[arg(short = 't', long = "topicName")]
        topic: Option<String>,
        /// Also list the group's connected clients (mqadmin -s true).
        #[arg(short = 's', long = "showClientIP", default_value = "false", action = clap::ArgAction::Set)]
        show_clients: bool,
        /// Only the brokers of this cluster (accepted for mqadmin scripts; groups are shown
        /// across every broker that holds their topics).
        #[arg(short = 'c', long = "cluster")]
        cluster: Option<String>,
    },
    /// mqadmin topicList: every topic the name server knows.
    #[command(
        name = "topicList",
        after_help = "Examples:\n  ferromq admin topicList"
    )]
    TopicList,
    /// mqadmin topicRoute: the route of a topic (brokers and queues).
    #[command(
        name = "topicRoute",
        after_help = "Examples:\n  ferromq admin topicRoute -t Orders"
    )]
    TopicRoute {
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// mqadmin clusterList: clusters, brokers and their addresses.
    #[command(
        name = "clusterList",
        after_help = "Examples:\n  ferromq admin clusterList"
    )]
    ClusterList,
    /// mqadmin updateTopic: create or update a topic on every master of a cluster or on one broker.
    #[command(name = "updateTopic", group(ArgGroup::new("where").required(true).args(["cluster", "broker_addr"])),
        after_help = "Examples:\n  ferromq admin updateTopic -t Orders -c DefaultCluster -r 8 -w 8\n  \
        ferromq admin updateTopic -t Orders -b 127.0.0.1:10911")]
    UpdateTopic {
        #[arg(short = 't', long = "topic")]
        topic: String,
        #[arg(short = 'c', long = "clusterName")]
        cluster: Option<String>,
        #[arg(short = 'b', long = "brokerAddr")]
        broker_addr: Option<String>,
        #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
        read: i32,
        #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
        write: i32,
        #[arg(short = 'p', long = "perm", default_value_t = 6)]
        perm: i32,
        #[arg(short = 'o', long = "order", default_value = "false", action = clap::ArgAction::Set)]
        order: bool,
        /// Topic attributes, mqadmin style: +key=value[,+key=value] (a leading - removes one).
        #[arg(short = 'a', long = "attributes")]
        attributes: Option<String>,
        /// Upstream unit flags, accepted for scripts (ferromq has no unit mode).
        #[arg(short = 'u', long = "unit", hide = true)]
        unit: Option<bool>,
        #[arg(short = 's', long = "hasUnitSub", hide = true)]
        has_unit_sub: Option<bool>,
    },
    /// mqadmin topicStatus: min/max offset and last store time of every queue of a topic.
    #[command(
        name = "topicStatus",
        after_help = "Examples:\n  ferromq admin topicStatus -t Orders"
    )]
    TopicStatus {
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// mqadmin consumerConnection: the online members of a consumer group.
    #[command(
        name = "consumerConnection",
        after_help = "Examples:\n  ferromq admin consumerConnection -g orders"
    )]
    ConsumerConnection {
        #[arg(short = 'g', long = "consumerGroup")]
        group: String,
    },
    /// mqadmin brokerStatus: the runtime figures of a broker (every master when -b is omitted).
    #[command(
        name = "brokerStatus",
        after_help = "Examples:\n  ferromq admin brokerStatus -b 127.0.0.1:10911\n  ferromq admin brokerStatus"
    )]
    BrokerStatus {
        #[arg(short = 'b', long = "brokerAddr")]
        broker_addr: Option<String>,
    },
    /// mqadmin updateSubGroup: create or update a subscription group on every master of a cluster or on one broker.
    #[command(name = "updateSubGroup", group(ArgGroup::new("where").required(true).args(["cluster", "broker_addr"])),
        after_help = "Examples:\n  ferromq admin updateSubGroup -g orders -c DefaultCluster\n  ferromq admin updateSubGroup -g fifo-orders -c DefaultCluster -o true -r 3")]
    UpdateSubGroup {
        #[arg(short = 'g', long = "groupName")]
        group: String,
        #[arg(short = 'c', long = "clusterName")]
        cluster: Option<String>,
        #[arg(short = 'b', long = "brokerAddr")]
        broker_addr: Option<String>,
        /// Ordered consumption (5.x POP and gRPC consumers: FIFO message groups, one batch in
        /// flight per queue).
        #[arg(short = 'o', long = "consumeMessageOrderly")]
        orderly: Option<bool>,
        /// Deliveries retried before a message goes to the group's dead-letter queue.
        #[arg(short = 'r', long = "retryMaxTimes")]
        retry_max_times: Option<i32>,
    },
    /// mqadmin deleteSubGroup: delete a subscription group (and with -r true its offsets).
    #[command(name = "deleteSubGroup", group(ArgGroup::new("where").required(true).args(["cluster", "broker_addr"])),
        after_help = "Examples:\n  ferromq admin deleteSubGroup -g old-group -c DefaultCluster -r true")]
    DeleteSubGroup {
        #[arg(short = 'g', long = "groupName")]
        group: String,
        #[arg(short = 'c', long = "clusterName")]
        cluster: Option<String>,
        #[arg(short = 'b', long = "brokerAddr")]
        broker_addr: Option<String>,
        /// Also delete the group's offsets.
        #[arg(short = 'r', long = "removeOffset", default_value = "false", action = clap::ArgAction::Set)]
        remove_offset: bool,
    },
    /// mqadmin deleteTopic: delete a topic from every master of a cluster and from the name servers.
    #[command(
        name = "deleteTopic",
        after_help = "Examples:\n  ferromq admin deleteTopic -t Orders -c DefaultCluster"
    )]
    DeleteTopic {
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// The cluster to delete it from (every broker holding the topic when omitted).
        #[arg(short = 'c', long = "clusterName")]
        cluster: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum OffsetsCommand {
    /// Move committed offsets. Dry run by default: prints the plan, changes nothing.
    #[command(after_help = "Examples:\n  \
        ferromq admin offsets reset --group orders --topic Orders --to-earliest\n  \
        ferromq admin offsets reset --group orders --topic Orders:0,1 --shift-by -100 --execute\n  \
        ferromq admin offsets reset --all-groups --all-topics --to-datetime 2025-11-24T10:00:00Z --export plan.json\n  \
        ferromq admin offsets reset --from-file offsets.csv --execute --yes")]
    Reset(ResetArgs),
    /// Lag of a group per queue, in messages and time, with its online members.
    #[command(
        after_help = "Examples:\n  ferromq admin offsets describe --group orders\n  \
        ferromq admin --output json offsets describe --group orders --topic Orders"
    )]
    Describe {
        #[arg(long)]
        group: String,
        /// Only these topics.
        #[arg(long)]
        topic: Vec<String>,
    },
    /// Export committed offsets with the store time of the message at each offset.
    #[command(
        after_help = "Examples:\n  ferromq admin offsets export --group orders --file orders.json\n  \
        ferromq admin offsets export --format csv > all.csv"
    )]
    Export {
        /// Only these groups (every group when omitted).
        #[arg(long)]
        group: Vec<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "json")]
        format: FileFormat,
    },
    /// Import offsets from an export (JSON or CSV) or from Apache RocketMQ's consumerOffset.json. Dry run by default.
    #[command(group(ArgGroup::new("source").required(true).args(["file", "rocketmq"])),
        after_help = "Examples:\n  ferromq admin offsets import --file orders.json --execute\n  \
        ferromq admin offsets import --file orders.json --to-group orders-copy --by-time --execute\n  \
        ferromq admin offsets import --rocketmq /store/config/consumerOffset.json --execute")]
    Import {
        /// A ferromq export (JSON) or CSV (`group,topic,queue,offset[,storeTimeMs][,broker]`).
        #[arg(long)]
        file: Option<PathBuf>,
        /// An Apache RocketMQ consumerOffset.json (its .bak is used when it is unusable).
        #[arg(long)]
        rocketmq: Option<PathBuf>,
        /// Re-apply each record at its store time (moves between clusters).
        #[arg(long)]
        by_time: bool,
        /// Import every record into this group instead.
        #[arg(long)]
        to_group: Option<String>,
        /// Only this broker (records without a broker go to every broker holding the topic).
        #[arg(long)]
        broker: Option<String>,
        #[command(flatten)]
        apply: ApplyArgs,
    },
    /// Copy a group's offsets to another group. Dry run by default.
    #[command(
        after_help = "Examples:\n  ferromq admin offsets clone --from orders --to orders-replay --execute"
    )]
    Clone {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        topic: Vec<String>,
        #[command(flatten)]
        apply: ApplyArgs,
    },
    /// Delete a group's offsets (for some topics or all). Dry run by default.
    #[command(
        after_help = "Examples:\n  ferromq admin offsets delete --group old-group --execute"
    )]
    Delete {
        #[arg(long)]
        group: String,
        #[arg(long)]
        topic: Vec<String>,
        #[command(flatten)]
        apply: ApplyArgs,
    },
    /// Recorded changes (resets, clones, deletes, imports, undos), newest first.
    #[command(after_help = "Examples:\n  ferromq admin offsets history --group orders")]
    History {
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        broker: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Revert a recorded change (change ids are per broker). Dry run by default.
    #[command(
        after_help = "Examples:\n  ferromq admin offsets undo 12 --broker broker-a --execute"
    )]
    Undo {
        change_id: u64,
        /// The broker that recorded the change (needed when the cluster has several).
        #[arg(long)]
        broker: Option<String>,
        #[command(flatten)]
        apply: ApplyArgs,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct ApplyArgs {
    /// Apply the change (without it, only the plan is printed).
    #[arg(long)]
    pub execute: bool,
    /// Do not ask for confirmation before changing more than one group.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Write the plan as JSON to this file.
    #[arg(long)]
    pub export: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("spec").required(true).multiple(false)
    .args(["to_earliest", "to_latest", "to_offset", "shift_by", "to_datetime", "by_duration", "from_file"])))]
pub struct ResetArgs {
    /// Group to reset (repeatable).
    #[arg(long, conflicts_with = "all_groups")]
    pub group: Vec<String>,
    /// Every group with offsets on the brokers.
    #[arg(long)]
    pub all_groups: bool,
    /// Topic, or topic:q,q,q for some queues (repeatable).
    #[arg(long, conflicts_with = "all_topics")]
    pub topic: Vec<String>,
    /// Every topic the groups have offsets for.
    #[arg(long)]
    pub all_topics: bool,
    /// To the first message still stored.
    #[arg(long)]
    pub to_earliest: bool,
    /// To the end (skip the backlog).
    #[arg(long)]
    pub to_latest: bool,
    /// To this offset (clamped to each queue's range).
    #[arg(long, value_name = "N")]
    pub to_offset: Option<i64>,
    /// Move the committed offset by ±N.
    #[arg(long, value_name = "±N", allow_negative_numbers = true)]
    pub shift_by: Option<i64>,
    /// To the first message stored at or after: ISO 8601, epoch ms or yyyy-MM-dd#HH:mm:ss:SSS.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to_datetime: Option<i64>,
    /// To the first message stored within this ISO 8601 duration before now (PT1H, P1D).
    #[arg(long, value_name = "DURATION", value_parser = parse_iso_duration)]
    pub by_duration: Option<i64>,
    /// Explicit offsets: CSV (`group,topic,queue,offset[,broker]`) or a ferromq export (JSON).
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Store intents for topics or queues that do not exist yet.
    #[arg(long)]
    pub allow_intents: bool,
    #[command(flatten)]
    pub apply: ApplyArgs,
}
