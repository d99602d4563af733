;; cowsay for WASI (preview1): a cow says the program's arguments, joined by spaces, on stdout and
;; in cow.txt inside the first preopened folder (the executor preopens /outputs as fd 3).
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))

  (memory (export "memory") 1)

  ;; scratch: 0 iovec {ptr, len}, 8 bytes written, 12 argc, 16 size of the argument bytes, 20 an opened fd
  (data (i32.const 64) "cow.txt")
  (data (i32.const 128)
    "        \\   ^__^\n"
    "         \\  (oo)\\_______\n"
    "            (__)\\       )\\/\\\n"
    "                ||----w |\n"
    "                ||     ||\n")
  (global $cow i32 (i32.const 128))
  (global $cow_len i32 (i32.const 123))
  (global $heap i32 (i32.const 1024))

  (func $write_all (param $fd i32) (param $ptr i32) (param $len i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store (i32.const 0) (local.get $ptr))
        (i32.store (i32.const 4) (local.get $len))
        ;; a non-zero errno ends the write
        (br_if $done (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.load (i32.const 8))))
        (local.set $len (i32.sub (local.get $len) (i32.load (i32.const 8))))
        (br $more))))

  ;; writes `byte` n times at p and returns the position after it
  (func $line (param $p i32) (param $byte i32) (param $n i32) (result i32)
    (i32.store8 (local.get $p) (i32.const 32))
    (memory.fill (i32.add (local.get $p) (i32.const 1)) (local.get $byte) (local.get $n))
    (i32.store8 (i32.add (local.get $p) (i32.add (local.get $n) (i32.const 1))) (i32.const 10))
    (i32.add (local.get $p) (i32.add (local.get $n) (i32.const 2))))

  (func (export "_start")
    (local $argc i32) (local $size i32) (local $argv i32) (local $buf i32)
    (local $msg i32) (local $n i32) (local $i i32) (local $out i32) (local $p i32) (local $need i32)
    (drop (call $args_sizes_get (i32.const 12) (i32.const 16)))
    (local.set $argc (i32.load (i32.const 12)))
    (local.set $size (i32.load (i32.const 16)))
    (local.set $argv (global.get $heap))
    (local.set $buf (i32.add (local.get $argv) (i32.shl (local.get $argc) (i32.const 2))))
    ;; room for the arguments, the speech bubble (three lines of the message's length) and the cow
    (local.set $need (i32.add (i32.add (local.get $buf) (i32.mul (local.get $size) (i32.const 4))) (i32.const 1024)))
    (if (i32.gt_u (local.get $need) (i32.shl (memory.size) (i32.const 16)))
      (then (drop (memory.grow
        (i32.sub (i32.add (i32.shr_u (local.get $need) (i32.const 16)) (i32.const 1)) (memory.size))))))
    (drop (call $args_get (local.get $argv) (local.get $buf)))

    ;; the message: every argument after the program name, their NUL separators turned into spaces
    (if (i32.ge_u (local.get $argc) (i32.const 2))
      (then
        (local.set $msg (i32.load offset=4 (local.get $argv)))
        (local.set $n (i32.sub (i32.sub (i32.add (local.get $buf) (local.get $size)) (local.get $msg)) (i32.const 1))))
      (else (local.set $msg (local.get $buf))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eqz (i32.load8_u (i32.add (local.get $msg) (local.get $i))))
          (then (i32.store8 (i32.add (local.get $msg) (local.get $i)) (i32.const 32))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))

    (local.set $out (i32.add (local.get $buf) (local.get $size)))
    (local.set $p (call $line (local.get $out) (i32.const 95) (i32.add (local.get $n) (i32.const 2))))
    (i32.store16 (local.get $p) (i32.const 0x203c)) ;; "< "
    (memory.copy (i32.add (local.get $p) (i32.const 2)) (local.get $msg) (local.get $n))
    (local.set $p (i32.add (local.get $p) (i32.add (local.get $n) (i32.const 2))))
    (i32.store8 (local.get $p) (i32.const 32))
    (i32.store8 offset=1 (local.get $p) (i32.const 62))
    (i32.store8 offset=2 (local.get $p) (i32.const 10))
    (local.set $p (call $line (i32.add (local.get $p) (i32.const 3)) (i32.const 45) (i32.add (local.get $n) (i32.const 2))))
    (memory.copy (local.get $p) (global.get $cow) (global.get $cow_len))
    (local.set $p (i32.add (local.get $p) (global.get $cow_len)))

    (call $write_all (i32.const 1) (local.get $out) (i32.sub (local.get $p) (local.get $out)))
    ;; path_open(dir fd 3, no symlink follow, "cow.txt", O_CREAT|O_TRUNC, rights: fd_write) -> fd at 20
    (if (i32.eqz (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 7)
                   (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 20)))
      (then
        (call $write_all (i32.load (i32.const 20)) (local.get $out) (i32.sub (local.get $p) (local.get $out)))
        (drop (call $fd_close (i32.load (i32.const 20)))))))
)
