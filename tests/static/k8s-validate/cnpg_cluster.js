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

  // Every pod the HPA may run, with its full pool, plus the Job, fits.
  const max = Number(((spec.postgresql || {}).parameters || {}).max_connections || 100);
  const needed = hpa.spec.maxReplicas * Number(configMap.data.DB_POOL_SIZE) + 1;
  expect(needed <= max - SUPERUSER_RESERVED - CNPG_OWN_CONNECTIONS,
    `${where}: HPA maxReplicas ${hpa.spec.maxReplicas} x DB_POOL_SIZE ${configMap.data.DB_POOL_SIZE} + 1 = ${needed} connections; max_connections ${max} leaves ${max - SUPERUSER_RESERVED - CNPG_OWN_CONNECTIONS}`);
}

module.exports = { checkPostgresCluster };
