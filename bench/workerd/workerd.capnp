# workerd config of bench/workerd.bench.ts (a template: the runner fills the {{...}} fields and writes it
# next to the bundled entry in a temp dir). One Worker on one HTTP socket, nothing else: no wrangler, no
# inspector, no proxy in the process, so its CPU is the Worker's.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "bench", worker = .benchWorker) ],
  sockets = [ (name = "http", address = "{{address}}", http = (), service = "bench") ],
);

const benchWorker :Workerd.Worker = (
  modules = [ (name = "{{module}}", esModule = embed "{{module}}") ],
  compatibilityDate = "{{compatibilityDate}}",
  compatibilityFlags = [{{compatibilityFlags}}],
);
