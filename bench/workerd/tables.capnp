# workerd config of bench/network-tables.bench.ts (a template, filled like workerd.capnp): the bench
# Worker with an ASSETS binding to web/public served by workerd's own disk service, standing in for
# Cloudflare's asset service (the files, the path and the fetch are the same; the server is not).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "bench", worker = .benchWorker),
    (name = "assets", disk = (path = "{{assets}}", writable = false)),
  ],
  sockets = [ (name = "http", address = "{{address}}", http = (), service = "bench") ],
);

const benchWorker :Workerd.Worker = (
  modules = [ (name = "{{module}}", esModule = embed "{{module}}") ],
  compatibilityDate = "{{compatibilityDate}}",
  compatibilityFlags = [{{compatibilityFlags}}],
  bindings = [ (name = "ASSETS", service = "assets") ],
);
