import type { Command, Option } from 'commander'

interface Node { path: string[], subcommands: string[], options: string[] }

/** Every command of the program with its subcommands and options, depth first. */
function walk (command: Command, path: string[] = []): Node[] {
  const options = (command.options as readonly Option[]).flatMap(o => [o.long, o.short].filter((f): f is string => f !== undefined))
  const subcommands = command.commands.map(c => c.name())
  return [{ path, subcommands, options: [...options, '--help'] }, ...command.commands.flatMap(c => walk(c, [...path, c.name()]))]
}

/** A bash completion script for the program: commands, subcommands and options by position. */
export function bashCompletion (program: Command): string {
  const name = program.name()
  const cases = walk(program).map(n => `    "${n.path.join(' ')}") words="${[...n.subcommands, ...n.options].join(' ')}" ;;`)
  return `# bash completion for ${name}: source it, or put it in /etc/bash_completion.d/${name}
_${name}_complete() {
  local cur path word words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$word" in -*) ;; *) path="\${path:+$path }$word" ;; esac
  done
  case "$path" in
${cases.join('\n')}
    *) words="" ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _${name}_complete ${name}
`
}

/** A zsh completion script: zsh's bash compatibility runs the bash one. */
export function zshCompletion (program: Command): string {
  return `#compdef ${program.name()}
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program)}`
}
