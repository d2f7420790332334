/**
 * `porchlight completion bash|zsh`: a completion script generated from the program's own command
 * tree, so it always knows every command and option of this version.
 */
import { examples } from "../context.js";
import { UsageError } from "../errors.js";
import { out } from "../output.js";

/** @typedef {import("commander").Command} Command */

/**
 * Every command path ("" for the top, "rules list") with its subcommands and options.
 * @param {Command} cmd @param {string} [prefix] @returns {{ path: string, words: string[] }[]}
 */
export function commandTree(cmd, prefix = "") {
  const words = [...cmd.commands.map((c) => c.name()), ...cmd.options.flatMap((o) => [o.long, o.short].filter((x) => typeof x === "string")), "--help"];
  return [{ path: prefix, words: /** @type {string[]} */ (words) }, ...cmd.commands.flatMap((c) => commandTree(c, prefix ? `${prefix} ${c.name()}` : c.name()))];
}

/** @param {Command} root */
export function bashScript(root) {
  const cases = commandTree(root)
    .map(({ path, words }) => `    "${path}") words="${words.join(" ")}" ;;`)
    .join("\n");
  return `# porchlight completion for bash: source it, e.g. in ~/.bashrc:  source <(porchlight completion bash)
_porchlight() {
  local cur path="" w i words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  # The command path so far: the words before the cursor that are not options or option values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case "\${path:+$path }$w" in
${commandTree(root).filter((t) => t.path).map((t) => `      "${t.path}") path="${t.path}" ;;`).join("\n")}
    esac
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
  [[ \${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- "$cur"))
  return 0
}
complete -F _porchlight porchlight
`;
}

/** @param {Command} root */
export function zshScript(root) {
  // zsh runs bash completion functions through bashcompinit: one generated script for both shells.
  return `#compdef porchlight
# porchlight completion for zsh: put it on $fpath as _porchlight, or:  source <(porchlight completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashScript(root)}`;
}

/** @param {Command} program */
export function registerCompletion(program) {
  const cmd = program
    .command("completion <shell>")
    .description("Print a completion script for bash or zsh")
    .action(async (shell) => {
      if (shell === "bash") return out(bashScript(program));
      if (shell === "zsh") return out(zshScript(program));
      throw new UsageError(`shell '${shell}': bash or zsh`);
    });
  examples(cmd, ["source <(porchlight completion bash)   # in ~/.bashrc", "porchlight completion zsh > \"${fpath[1]}/_porchlight\""]);
}
