// The CloudNativePG Cluster: no npm package ships its CRD schema, so this
// checks the fields the CRD requires (spec.instances), the ones this
// deployment relies on, and their agreement with the rest of the manifests.
"use strict";

const CNPG_OWN_CONNECTIONS = 10;  // instance manager, replication, monitoring: an allowance
const SUPERUSER_RESERVED = 3;     // PostgreSQL's superuser_reserved_connections default

function checkPostgresCluster(cluster, { name, fail, expect, service, example, migrateExample, hpa, configMap }) {
  const where = `${name}: Cluster/${cluster.metadata.name}`;
  const spec = cluster.spec || {};
  expect(cluster.apiVersion === "postgresql.cnpg.io/v1", `${where}: apiVersion is ${cluster.apiVersion}`);
  if (!Number.isInteger(spec.instances) || spec.instances < 1) return fail(`${where}: spec.instances (required) is not a positive integer`);
  expect(spec.instances >= 3, `${where}: ${spec.instances} instances; a synchronous standby and a spare need 3`);
  expect(Number.isInteger(spec.minSyncReplicas) && Number.isInteger(spec.maxSyncReplicas) &&
         spec.minSyncReplicas >= 1 && spec.minSyncReplicas <= spec.maxSyncReplicas && spec.maxSyncReplicas < spec.instances,
    `${where}: synchronous replication needs 1 <= minSyncReplicas <= maxSyncReplicas < instances`);
  const major = String(spec.imageName || "").match(/:(\d+)(?:[.\-]|$)/);
  expect(major && Number(major[1]) === service.postgresMajor,
    `${where}: imageName ${spec.imageName} is not PostgreSQL ${service.postgresMajor} (db/Dockerfile)`);
  expect(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti)$/.test((spec.storage || {}).size || ""), `${where}: spec.storage.size is not a quantity`);
  const initdb = (spec.bootstrap || {}).initdb || {};
  expect(typeof initdb.database === "string" && typeof initdb.owner === "string",
    `${where}: bootstrap.initdb lacks database or owner`);

  // DATABASE_URL (its shape in the examples) points at the primary's service:
  // the Job's as the owner, the service's as a role the Cluster manages.
  const managed = ((spec.managed || {}).roles || []).map((r) => r.name);
  for (const [file, secret, users] of [["secret-migrate.example.yaml", migrateExample, [initdb.owner]],
                                       ["secret.example.yaml", example, managed]]) {
    let url;
    try { url = new URL(secret.stringData.DATABASE_URL); } catch { fail(`${file}: DATABASE_URL is not a URL`); continue; }
    expect(url.hostname.split(".")[0] === `${cluster.metadata.name}-rw`,
      `${file}: DATABASE_URL host ${url.hostname} is not the primary's service ${cluster.metadata.name}-rw`);
    expect(url.pathname === `/${initdb.database}` && users.includes(decodeURIComponent(url.username)),
      `${file}: DATABASE_URL names ${url.username}@${url.pathname}, the Cluster has ${users.join(", ")} on /${initdb.database}`);
    expect(decodeURIComponent(url.username) !== "postgres", `${file}: DATABASE_URL connects as the superuser`);
    expect((url.port || "5432") === "5432", `${file}: DATABASE_URL port is not 5432`);
  }
  expect(!managed.includes(initdb.owner), `${where}: the owner ${initdb.owner} is also a managed role`);

  // Every pod the HPA may run, with its full pool and, with mail on, the mail
  // sender's own connection (services/users/src/mail_sender.hpp), plus the Job, fits.
  const max = Number(((spec.postgresql || {}).parameters || {}).max_connections || 100);
  const sender = configMap.data.SMTP_URL ? 1 : 0;
  const perPod = Number(configMap.data.DB_POOL_SIZE) + sender;
  const needed = hpa.spec.maxReplicas * perPod + 1;
  expect(needed <= max - SUPERUSER_RESERVED - CNPG_OWN_CONNECTIONS,
    `${where}: HPA maxReplicas ${hpa.spec.maxReplicas} x (DB_POOL_SIZE ${configMap.data.DB_POOL_SIZE} + ${sender} mail sender) + 1 = ${needed} connections; max_connections ${max} leaves ${max - SUPERUSER_RESERVED - CNPG_OWN_CONNECTIONS}`);
}

// Backups: WAL archived continuously and base backups into an object store
// through CloudNativePG's in-tree Barman Cloud support (1.24), credentials
// from one Secret, a retention; a ScheduledBackup of this Cluster at least
// daily, applied with the database (component=database).
const STORE = /^(s3|gs|https):\/\/\S+$/;
const RETENTION = /^([1-9][0-9]*)([dwm])$/;
const DAYS = { d: 1, w: 7, m: 30 };

function secretRefs(store) {
  const credentials = store.s3Credentials || store.googleCredentials || store.azureCredentials || {};
  return Object.values(credentials).filter((v) => v && typeof v === "object");
}

function checkBackups(cluster, scheduled, { name, expect }) {
  const where = `${name}: Cluster/${cluster.metadata.name}`;
  const backup = (cluster.spec || {}).backup || {};
  const store = backup.barmanObjectStore || {};
  expect(STORE.test(store.destinationPath || ""),
    `${where}: backup.barmanObjectStore.destinationPath ${store.destinationPath} is not an object store (s3://, gs://, https://)`);
  const refs = secretRefs(store);
  expect(refs.length >= 2 && refs.every((r) => r.name && r.key) && new Set(refs.map((r) => r.name)).size === 1,
    `${where}: the object store's credentials are not keys of one Secret`);
  expect(!!(store.wal || {}).compression && !!(store.data || {}).compression,
    `${where}: WAL or base backups are stored uncompressed`);
  const retention = String(backup.retentionPolicy || "").match(RETENTION);
  expect(retention && Number(retention[1]) * DAYS[retention[2]] >= 7,
    `${where}: backup.retentionPolicy ${backup.retentionPolicy} does not keep a week at least`);

  const mine = scheduled.filter((b) => ((b.spec || {}).cluster || {}).name === cluster.metadata.name);
  expect(mine.length >= 1, `${name}: no ScheduledBackup of Cluster/${cluster.metadata.name}`);
  for (const b of mine) {
    const at = `${name}: ScheduledBackup/${b.metadata.name}`;
    const fields = String(b.spec.schedule || "").trim().split(/\s+/);
    // CloudNativePG's schedule has six fields, seconds first.
    expect(fields.length === 6 && fields.slice(3).every((f) => f === "*"),
      `${at}: schedule "${b.spec.schedule}" is not six fields running every day`);
    expect((b.spec.method || "barmanObjectStore") === "barmanObjectStore",
      `${at}: method ${b.spec.method} is not barmanObjectStore`);
    expect(((b.metadata.labels || {})["app.kubernetes.io/component"]) === "database",
      `${at}: not labelled component=database (the release steps apply it with the Cluster)`);
  }
}

// deploy/k8s/examples/restore.yaml: a new Cluster recovered from this one's
// store to a time, never rendered by a kustomization.
function checkRestoreExample(restore, cluster, { fail, expect }) {
  const where = "examples/restore.yaml";
  const spec = restore.spec || {};
  expect(restore.apiVersion === "postgresql.cnpg.io/v1" && restore.kind === "Cluster", `${where}: not a CloudNativePG Cluster`);
  expect(restore.metadata.name !== cluster.metadata.name, `${where}: reuses the name ${cluster.metadata.name}; a restore makes a new Cluster`);
  expect(restore.metadata.namespace === "users", `${where}: not in namespace users`);
  const recovery = (spec.bootstrap || {}).recovery;
  if (!recovery) return fail(`${where}: not bootstrapped with recovery`);
  const target = (recovery.recoveryTarget || {}).targetTime || "";
  expect(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$/.test(target),
    `${where}: recoveryTarget.targetTime "${target}" is not a time with its UTC offset`);
  const source = (spec.externalClusters || []).find((c) => c.name === recovery.source);
  if (!source) return fail(`${where}: recovery.source ${recovery.source} is not one of its externalClusters`);
  const from = source.barmanObjectStore || {};
  const store = ((cluster.spec.backup || {}).barmanObjectStore) || {};
  expect(from.destinationPath === store.destinationPath && from.endpointURL === store.endpointURL,
    `${where}: recovers from ${from.destinationPath} (${from.endpointURL}), the Cluster backs up to ${store.destinationPath} (${store.endpointURL})`);
  const serverName = store.serverName || cluster.metadata.name;
  expect((from.serverName || source.name) === serverName,
    `${where}: recovers server ${from.serverName || source.name}, the Cluster archives as ${serverName}`);
  expect(secretRefs(from).length >= 2, `${where}: the source's store has no credentials`);
  const major = (image) => (String(image || "").match(/:(\d+)(?:[.\-]|$)/) || [])[1];
  expect(major(spec.imageName) && major(spec.imageName) === major(cluster.spec.imageName),
    `${where}: imageName ${spec.imageName} is not the Cluster's PostgreSQL major (${cluster.spec.imageName})`);
  const initdb = (cluster.spec.bootstrap || {}).initdb || {};
  expect(recovery.database === initdb.database && recovery.owner === initdb.owner,
    `${where}: recovery database/owner ${recovery.database}/${recovery.owner}, the Cluster's are ${initdb.database}/${initdb.owner}`);
  const roles = (c) => (((c.spec || {}).managed || {}).roles || []).map((r) => `${r.name}:${(r.passwordSecret || {}).name}`).sort().join(",");
  expect(roles(restore) === roles(cluster), `${where}: managed roles ${roles(restore)} differ from the Cluster's ${roles(cluster)}`);
  const own = (spec.backup || {}).barmanObjectStore;
  if (own) {
    expect(own.destinationPath !== from.destinationPath || (own.serverName || restore.metadata.name) !== (from.serverName || source.name),
      `${where}: archives into the very history it recovers from (same store and server name)`);
  }
}

module.exports = { checkPostgresCluster, checkBackups, checkRestoreExample };
