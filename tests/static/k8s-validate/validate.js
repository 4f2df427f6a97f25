// Validates kustomize's output for deploy/k8s against the Kubernetes schemas
// and against the service's own source, so the manifests cannot drift from
// what the binary does. Usage:
//   node validate.js REPO_ROOT base=RENDERED.yaml prod=RENDERED.yaml
// Prints "ok: ..." per check group and "FAIL: ..." per mismatch; exit 1 on any.
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require("yaml");
const { unknownFields } = require("./strict_fields");
const facts = require("./service_facts");
const { checkPostgresCluster, checkBackups, checkRestoreExample } = require("./cnpg_cluster");

const [root, ...renders] = process.argv.slice(2);
const failures = [];
const fail = (message) => failures.push(message);
const expect = (condition, message) => condition || fail(message);

// --- schema: every object against the OpenAPI schema of its kind ----------
function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  return `kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`;
}

function validateSchema(object, where) {
  // kubernetes-models keeps removed versions (policy/v1beta1): only GA APIs.
  if (/(alpha|beta)\d*$/.test(object.apiVersion)) fail(`${where}: ${object.apiVersion} is not a GA API; clusters since 1.25 may not serve it`);
  if (object.apiVersion === "postgresql.cnpg.io/v1") return; // no package ships the CRD
  let Model;
  try {
    Model = require(modelModule(object.apiVersion, object.kind))[object.kind];
  } catch {
    return fail(`${where}: no Kubernetes schema for ${object.apiVersion} ${object.kind}`);
  }
  try {
    new Model(object).validate();
  } catch (error) {
    for (const e of error.errors || [{ instancePath: "", message: error.message }]) {
      fail(`${where}${e.instancePath}: ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
    }
  }
  const dts = require.resolve(modelModule(object.apiVersion, object.kind)).replace(/\.js$/, ".d.ts");
  unknownFields(object, dts, where).forEach(fail);
}

// --- consistency with the service ------------------------------------------
const subset = (small, big) =>
  !!small && !!big && Object.entries(small).every(([k, v]) => big[k] === v);

function prestopSeconds(container) {
  const preStop = container.lifecycle && container.lifecycle.preStop;
  if (!preStop) return 0;
  if (preStop.sleep) return Number(preStop.sleep.seconds);
  const command = (preStop.exec && preStop.exec.command) || [];
  const m = command.join(" ").match(/^(?:\/bin\/)?sleep (\d+)$/);
  return m ? Number(m[1]) : NaN;
}

function checkPodSecurity(pod, where, service) {
  for (const c of pod.spec.containers) {
    const ctx = { ...pod.spec.securityContext, ...c.securityContext };
    expect(ctx.runAsUser === service.uid && ctx.runAsGroup === service.gid,
      `${where}: runs as ${ctx.runAsUser}:${ctx.runAsGroup}, the Dockerfile's USER is ${service.uid}:${service.gid}`);
    expect(ctx.runAsNonRoot === true, `${where}: runAsNonRoot is not true`);
    expect(ctx.allowPrivilegeEscalation === false, `${where}: allowPrivilegeEscalation is not false`);
    expect(ctx.readOnlyRootFilesystem === true, `${where}: readOnlyRootFilesystem is not true`);
    expect(JSON.stringify((ctx.capabilities || {}).drop) === '["ALL"]', `${where}: capabilities do not drop ALL`);
    expect((ctx.seccompProfile || {}).type === "RuntimeDefault", `${where}: seccompProfile is not RuntimeDefault`);
  }
}

function checkRender(name, objects, service, example, migrateExample) {
  const before = failures.length;
  const find = (kind, predicate = () => true) => objects.filter((o) => o.kind === kind && predicate(o));
  const one = (kind) => {
    const found = find(kind);
    expect(found.length === 1, `${name}: expected one ${kind}, found ${found.length}`);
    return found[0];
  };
  const deployment = one("Deployment");
  const job = one("Job");
  const svc = one("Service");
  const ingresses = find("Ingress");
  const ingress = ingresses.find((i) => i.metadata.name === "users-service");
  const authIngress = ingresses.find((i) => i.metadata.name === "users-service-auth");
  expect(ingress && authIngress && ingresses.length === 2,
    `${name}: expected the Ingresses users-service and users-service-auth, found ${ingresses.map((i) => i.metadata.name).join(", ")}`);
  const pdb = one("PodDisruptionBudget");
  const hpa = one("HorizontalPodAutoscaler");
  const policy = one("NetworkPolicy");
  const cluster = one("Cluster");
  const configMap = one("ConfigMap");
  if (failures.length > before) return;
  const pod = deployment.spec.template;
  const podLabels = pod.metadata.labels;
  const container = pod.spec.containers.find((c) => c.name === "users-service");
  if (!container) return fail(`${name}: the Deployment has no container named users-service`);
  const httpPort = (container.ports || []).find((p) => p.name === "http");

  // Port and probes
  expect(httpPort && httpPort.containerPort === service.port,
    `${name}: container port "http" is ${httpPort && httpPort.containerPort}, the service's default PORT is ${service.port}`);
  expect(configMap.data.PORT === String(service.port),
    `${name}: ConfigMap PORT is ${configMap.data.PORT}, the service's default PORT (the container port) is ${service.port}`);
  const probes = { readinessProbe: "/ready", livenessProbe: "/live", startupProbe: "/live" };
  for (const [probe, suffix] of Object.entries(probes)) {
    const get = container[probe] && container[probe].httpGet;
    if (!get) { if (probe !== "startupProbe") fail(`${name}: no ${probe} httpGet`); continue; }
    expect(service.healthRoutes.includes(get.path) && get.path.endsWith(suffix),
      `${name}: ${probe} path ${get.path} is not the ${suffix} route the health blueprint registers (${service.healthRoutes.join(", ")})`);
    expect(get.port === "http" || get.port === service.port, `${name}: ${probe} port ${get.port} is not the http port`);
  }

  // Shutdown: endpoints removed (preStop), then the drain, inside the grace period.
  const preStop = prestopSeconds(container);
  const grace = pod.spec.terminationGracePeriodSeconds;
  expect(!Number.isNaN(preStop), `${name}: preStop is neither sleep N nor a sleep action`);
  expect(preStop >= 3, `${name}: preStop sleeps ${preStop} s; endpoints need a few seconds to drop the pod`);
  expect(grace >= preStop + service.drainSeconds + 2,
    `${name}: terminationGracePeriodSeconds ${grace} < preStop ${preStop} s + drain ${service.drainSeconds} s (common/src/app.cpp) + 2 s margin`);
  expect(deployment.spec.strategy.rollingUpdate.maxUnavailable === 0, `${name}: rolling update maxUnavailable is not 0`);

  // Security
  checkPodSecurity(pod, `${name}: Deployment`, service);
  checkPodSecurity(job.spec.template, `${name}: Job`, service);

  // Selectors: every selector picks the Deployment's pods
  expect(subset(deployment.spec.selector.matchLabels, podLabels), `${name}: the Deployment's selector misses its own pod labels`);
  expect(subset(svc.spec.selector, podLabels), `${name}: the Service's selector ${JSON.stringify(svc.spec.selector)} does not select the Deployment's pods`);
  expect(svc.spec.type === "ClusterIP", `${name}: the Service is not of type ClusterIP`);
  expect(svc.spec.ports.some((p) => p.targetPort === "http"), `${name}: the Service does not target the named port http`);
  expect(subset(pdb.spec.selector.matchLabels, podLabels), `${name}: the PDB does not select the Deployment's pods`);
  const target = hpa.spec.scaleTargetRef;
  expect(target.kind === "Deployment" && target.name === deployment.metadata.name && target.apiVersion === "apps/v1",
    `${name}: the HPA targets ${target.kind}/${target.name}, not Deployment/${deployment.metadata.name}`);
  expect(hpa.spec.minReplicas === deployment.spec.replicas,
    `${name}: HPA minReplicas ${hpa.spec.minReplicas} differs from the Deployment's replicas ${deployment.spec.replicas}`);
  expect(subset(policy.spec.podSelector.matchLabels, podLabels), `${name}: the NetworkPolicy does not select the Deployment's pods`);
  expect(subset(policy.spec.podSelector.matchLabels, job.spec.template.metadata.labels), `${name}: the NetworkPolicy does not select the migration Job's pods`);

  // NetworkPolicy: in from ingress-nginx only, out to PostgreSQL, DNS and the SMTP relay only
  const ingressPeers = policy.spec.ingress.flatMap((rule) => rule.from || [{}]);
  expect(ingressPeers.length > 0 && ingressPeers.every((p) =>
    p.namespaceSelector && p.namespaceSelector.matchLabels &&
    p.namespaceSelector.matchLabels["kubernetes.io/metadata.name"] === "ingress-nginx" && p.podSelector),
    `${name}: NetworkPolicy ingress allows peers other than the ingress-nginx pods`);
  expect(policy.spec.ingress.every((r) => (r.ports || []).every((p) => p.port === "http" || p.port === service.port)),
    `${name}: NetworkPolicy ingress opens a port other than http`);
  const egress = policy.spec.egress || [];
  const toDb = egress.find((r) => (r.to || []).some((p) => p.podSelector &&
    (p.podSelector.matchLabels || {})["cnpg.io/cluster"] === cluster.metadata.name));
  expect(toDb && toDb.ports.every((p) => p.port === 5432), `${name}: NetworkPolicy has no egress to the ${cluster.metadata.name} pods on 5432 alone`);
  // The relay: SMTP_URL's port, and (in production) the relay's addresses, not everyone's.
  const smtp = facts.smtpEndpoint(configMap.data.SMTP_URL);
  const isDns = (r) => (r.ports || []).length > 0 && r.ports.every((p) => p.port === 53);
  const toSmtp = egress.filter((r) => r !== toDb && !isDns(r));
  expect(toSmtp.every((r) => smtp && (r.ports || []).length > 0 && r.ports.every((p) => p.port === smtp.port && p.protocol === "TCP")),
    `${name}: NetworkPolicy egress allows more than PostgreSQL, DNS and the SMTP relay on SMTP_URL's port (${smtp ? smtp.port : "SMTP_URL unset"})`);
  expect(!smtp || toSmtp.length === 1, `${name}: SMTP_URL is set, but the NetworkPolicy has ${toSmtp.length} egress rules for its port ${smtp && smtp.port}, not one`);
  if (name === "prod") {
    expect(toSmtp.every((r) => (r.to || []).length > 0 && r.to.every((p) => !p.ipBlock || p.ipBlock.cidr !== "0.0.0.0/0")),
      `${name}: NetworkPolicy egress to the SMTP relay is open to every address; name the relay's (overlays/prod/networkpolicy-patch.yaml)`);
  }
  if (smtp) {
    const base = configMap.data.PUBLIC_BASE_URL || "";
    const host = base.startsWith("https://") ? new URL(base).hostname : "";
    expect(ingresses.every((i) => i.spec.rules.some((r) => r.host === host)),
      `${name}: PUBLIC_BASE_URL ${base} is not https:// on the Ingresses' host: the mails' links would lead elsewhere`);
    expect(!!configMap.data.MAIL_FROM, `${name}: SMTP_URL is set without MAIL_FROM`);
  }
  expect(egress.some((r) => (r.ports || []).some((p) => p.port === 53)), `${name}: NetworkPolicy has no egress to DNS`);

  // Ingress -> Service -> pods, HTTPS only, nginx's body limit = the service's
  for (const ing of ingresses) {
    const where = `${name}: Ingress/${ing.metadata.name}`;
    const annotations = ing.metadata.annotations || {};
    for (const rule of ing.spec.rules) {
      for (const p of rule.http.paths) {
        const backend = p.backend.service;
        expect(backend.name === svc.metadata.name && svc.spec.ports.some((sp) => sp.name === backend.port.name || sp.port === backend.port.number),
          `${where}: the backend ${backend.name}:${backend.port.name || backend.port.number} of ${p.path} is not the Service's port`);
        // /metrics is for Prometheus inside the cluster: no path may reach it.
        const reaches = p.pathType === "Exact" ? p.path === "/metrics"
          : "/metrics".startsWith(p.path.replace(/\/$/, "") + "/") || p.path === "/metrics" || p.path === "/";
        expect(!reaches, `${where}: path ${p.path} (${p.pathType}) routes /metrics to the public`);
      }
      const tls = (ing.spec.tls || []).find((t) => (t.hosts || []).includes(rule.host));
      expect(tls && tls.secretName, `${where}: host ${rule.host} has no tls: section with a Secret`);
    }
    expect(ing.spec.ingressClassName === "nginx", `${where}: ingressClassName is not nginx`);
    expect(annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] === "true", `${where}: plain HTTP is not redirected to HTTPS (force-ssl-redirect)`);
    expect(!!annotations["nginx.ingress.kubernetes.io/ssl-ciphers"], `${where}: no ssl-ciphers annotation`);
    const bodySize = annotations["nginx.ingress.kubernetes.io/proxy-body-size"];
    expect(facts.nginxSize(bodySize) === service.maxBodyBytes,
      `${where}: proxy-body-size ${bodySize} is not the service's MAX_BODY_BYTES ${service.maxBodyBytes}`);
  }
  // The auth POSTs are rate-limited per client address: those that hash a
  // password, create accounts, send mail or spend a mail's token (JSON or page).
  const authPaths = authIngress.spec.rules.flatMap((r) => r.http.paths.map((p) => `${p.pathType} ${p.path}`)).sort();
  const mustLimit = ["/auth/login", "/auth/password", "/auth/password/forgot", "/auth/password/reset",
    "/auth/refresh", "/auth/register", "/auth/verify", "/auth/verify/resend", "/reset-password", "/verify-email"].map((p) => `Exact ${p}`).sort();
  expect(JSON.stringify(authPaths) === JSON.stringify(mustLimit),
    `${name}: Ingress/users-service-auth routes ${authPaths.join(", ")}, not exactly ${mustLimit.join(", ")}`);
  expect(Number((authIngress.metadata.annotations || {})["nginx.ingress.kubernetes.io/limit-rps"]) > 0,
    `${name}: Ingress/users-service-auth has no limit-rps`);
  expect(ingress.spec.rules.every((r) => authIngress.spec.rules.some((a) => a.host === r.host)),
    `${name}: the rate-limited Ingress does not serve every host of the main one`);
  // Every limited or blocked path is exact, and no Prefix path of any Ingress
  // covers one: a prefix would route another spelling (`/auth/login/`,
  // `/metrics/`) to the service, past the limit or the block.
  const limited = authIngress.spec.rules.flatMap((r) => r.http.paths.map((p) => p.path));
  const exact = ingresses.flatMap((i) => i.spec.rules.flatMap((r) => r.http.paths))
    .filter((p) => p.pathType === "Exact").map((p) => p.path);
  const prefixes = ingresses.flatMap((i) => i.spec.rules.flatMap((r) => r.http.paths))
    .filter((p) => p.pathType === "Prefix").map((p) => p.path.replace(/\/$/, ""));
  for (const route of service.authRoutes) {
    // A route with a parameter (/auth/sessions/:id) cannot be an Exact path:
    // a Prefix path at its fixed part routes it (and covers no limited path,
    // checked below).
    const parameter = route.indexOf("/:");
    if (parameter >= 0) {
      expect(prefixes.includes(route.slice(0, parameter)),
        `${name}: the service's ${route} is routed by no Prefix path of an Ingress at ${route.slice(0, parameter)}`);
    } else {
      expect(exact.includes(route), `${name}: the service's ${route} is routed by no Exact path of an Ingress`);
    }
  }
  // Every route the service registers (but /metrics) reaches it.
  const allPaths = ingresses.flatMap((i) => i.spec.rules.flatMap((r) => r.http.paths));
  for (const route of service.routes.filter((r) => r !== "/metrics")) {
    const routed = allPaths.some((p) => p.pathType === "Exact" ? p.path === route
      : route === p.path.replace(/\/$/, "") || route.startsWith(p.path.replace(/\/$/, "") + "/"));
    expect(routed, `${name}: the service's ${route} is routed by no Ingress`);
  }
  for (const ing of ingresses) {
    for (const p of ing.spec.rules.flatMap((r) => r.http.paths)) {
      const prefix = p.path.replace(/\/$/, "");
      const covers = (path) => p.pathType !== "Exact" && (path === prefix || path.startsWith(prefix + "/"));
      for (const path of [...limited, "/metrics"]) {
        expect(!covers(path), `${name}: Ingress/${ing.metadata.name} path ${p.path} (${p.pathType}) covers ${path}: other spellings of it pass unlimited or unblocked`);
      }
    }
  }

  // The migration Job runs what compose's users-migrate runs, with the same image and env
  expect(JSON.stringify([...job.spec.template.spec.containers[0].command, ...(job.spec.template.spec.containers[0].args || [])]) === '["manage","migrate"]',
    `${name}: the Job does not run manage migrate`);
  expect(job.spec.template.spec.containers[0].image === container.image, `${name}: the Job's image differs from the Deployment's`);
  // Least privilege: the Job migrates as the owner (its own Secret) and grants
  // the service's role; the pods connect as that role.
  const jobContainer = job.spec.template.spec.containers[0];
  const jobConfig = jobContainer.envFrom.find((e) => e.configMapRef);
  const jobSecret = jobContainer.envFrom.find((e) => e.secretRef);
  expect(jobConfig && jobConfig.configMapRef.name === configMap.metadata.name, `${name}: the Job does not read the ConfigMap`);
  expect(jobSecret && jobSecret.secretRef.name === migrateExample.metadata.name,
    `${name}: the Job reads Secret ${jobSecret && jobSecret.secretRef.name}, secret-migrate.example.yaml is ${migrateExample.metadata.name}`);
  const appRole = ((jobContainer.env || []).find((e) => e.name === "DATABASE_APP_ROLE") || {}).value;
  const managed = (((cluster.spec || {}).managed || {}).roles || []).find((r) => r.name === appRole);
  expect(!!appRole && managed && managed.login === true && managed.ensure === "present" && !managed.superuser && !managed.createdb && !managed.createrole,
    `${name}: the Job's DATABASE_APP_ROLE ${appRole} is not a plain login role the Cluster manages`);
  expect(decodeURIComponent(new URL(example.stringData.DATABASE_URL).username) === appRole,
    `secret.example.yaml: the service connects as ${new URL(example.stringData.DATABASE_URL).username}, not as ${appRole}`);

  // Configuration and the Secret (never rendered; its example names the keys)
  const configRef = container.envFrom.find((e) => e.configMapRef);
  const secretRef = container.envFrom.find((e) => e.secretRef);
  expect(configRef && configRef.configMapRef.name === configMap.metadata.name, `${name}: the Deployment does not read the ConfigMap`);
  expect(secretRef && secretRef.secretRef.name === example.metadata.name,
    `${name}: the Deployment reads Secret ${secretRef && secretRef.secretRef.name}, secret.example.yaml is ${example.metadata.name}`);
  expect(find("Secret").length === 0, `${name}: a Secret is rendered; secrets are created by hand`);
  for (const [key, value] of Object.entries({ APP_ENV: "production", LOG_FORMAT: "json" })) {
    expect(configMap.data[key] === value, `${name}: ConfigMap ${key} is ${configMap.data[key]}, not ${value}`);
  }
  expect(!!configMap.data.TRUSTED_PROXIES, `${name}: ConfigMap has no TRUSTED_PROXIES`);

  // deploy/k8s/README.md's release steps apply by label: the database first,
  // then `component in (config,migration)`, which must bring all the Job reads.
  const component = (o) => (o.metadata.labels || {})["app.kubernetes.io/component"];
  expect(component(cluster) === "database", `${name}: the Cluster is not labelled component=database`);
  expect(component(job) === "migration" && component(configMap) === "config",
    `${name}: the Job and its ConfigMap are not labelled component=migration and component=config`);
  checkPostgresCluster(cluster, { name, fail, expect, service, example, migrateExample, hpa, configMap });
  checkBackups(cluster, find("ScheduledBackup"), { name, expect });
  return cluster;
}

// --- main -------------------------------------------------------------------
const service = facts.read(root);
const examplePath = path.join(root, "deploy/k8s/base/secret.example.yaml");
const example = YAML.parse(fs.readFileSync(examplePath, "utf8"));
validateSchema(example, "secret.example.yaml");
expect(JSON.stringify(Object.keys(example.stringData).sort()) === '["DATABASE_URL","SECRET_KEY","SMTP_PASSWORD","SMTP_USER"]',
  "secret.example.yaml: keys are not DATABASE_URL, SECRET_KEY, SMTP_USER and SMTP_PASSWORD");
expect(example.stringData.SECRET_KEY.length < 32,
  "secret.example.yaml: the placeholder SECRET_KEY must stay under 32 bytes, so production refuses to start with it");
const migrateExamplePath = path.join(root, "deploy/k8s/base/secret-migrate.example.yaml");
const migrateExample = YAML.parse(fs.readFileSync(migrateExamplePath, "utf8"));
validateSchema(migrateExample, "secret-migrate.example.yaml");
expect(JSON.stringify(Object.keys(migrateExample.stringData).sort()) === '["DATABASE_URL","SECRET_KEY"]',
  "secret-migrate.example.yaml: keys are not DATABASE_URL and SECRET_KEY");
expect(migrateExample.stringData.SECRET_KEY.length < 32,
  "secret-migrate.example.yaml: the placeholder SECRET_KEY must stay under 32 bytes");

// The restore example, checked against the production render's Cluster.
const restore = YAML.parse(fs.readFileSync(path.join(root, "deploy/k8s/examples/restore.yaml"), "utf8"));

for (const arg of renders) {
  const [name, file] = arg.split("=");
  const objects = YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
  const before = failures.length;
  for (const object of objects) validateSchema(object, `${name}: ${object.kind}/${object.metadata && object.metadata.name}`);
  if (failures.length === before) console.log(`ok: ${name}: ${objects.length} objects match the Kubernetes schemas (no unknown field)`);
  const checked = failures.length;
  const cluster = checkRender(name, objects, service, example, migrateExample);
  expect(!objects.some((o) => o.metadata && o.metadata.name === restore.metadata.name),
    `${name}: renders ${restore.metadata.name}; the restore example stays outside every kustomization`);
  if (name === "prod") {
    if (cluster) checkRestoreExample(restore, cluster, { fail, expect });
    const image = objects.find((o) => o.kind === "Deployment").spec.template.spec.containers[0].image;
    expect(/:[\w][\w.-]*$/.test(image) && !image.endsWith(":latest"), `prod: image ${image} has no pinned tag`);
    const unscoped = objects.filter((o) => !["Namespace"].includes(o.kind) && (o.metadata || {}).namespace !== "users");
    expect(unscoped.length === 0, `prod: objects outside namespace users: ${unscoped.map((o) => o.kind).join(", ")}`);
  }
  if (failures.length === checked) console.log(`ok: ${name}: consistent with the service's source`);
}

for (const message of failures) console.log(`FAIL: ${message}`);
process.exit(failures.length ? 1 : 0);
