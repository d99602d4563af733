/**
 * A WASI command, as WAT, that writes "go" and then grows its linear memory `pagesPerGrow` pages
 * (64 KiB each) at a time until a grow is refused; then it runs `onFull` (`unreachable` traps).
 */
export function growerWat (o: { memory: string, pagesPerGrow: number, onFull: string, imports?: string[] }): string {
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ${(o.imports ?? []).join('\n  ')}
  (memory (export "memory") ${o.memory})
  (data (i32.const 16) "go\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (block $full
      (loop $grow
        (br_if $full (i32.eq (memory.grow (i32.const ${o.pagesPerGrow})) (i32.const -1)))
        (br $grow)))
    ${o.onFull}))`
}
