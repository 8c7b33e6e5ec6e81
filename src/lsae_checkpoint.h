/* lsae_checkpoint.h -- checkpoint files as data: a strict binary format.
 *
 * A checkpoint holds one Lua table of numbers, strings, booleans and such
 * tables (sae.checkpoint.save / load, lua/sae/checkpoint.lua).  The file is
 *
 *   "saelab checkpoint 2\n"  then one value, the top table:
 *   value := 'T' u64 count  { key value }*count     a table
 *          | 'I' i64        an integer
 *          | 'F' u64        a float, its IEEE-754 bits (NaN payloads, -0.0 kept)
 *          | 'S' u64 len  len bytes                  a string, binary-safe
 *          | 't' | 'f'      true, false
 *   key   := 'I' ... | 'F' ... | 'S' ...             (no NaN float key)
 *
 * every number little-endian.  The encoder writes each table's keys sorted
 * (numbers ascending, then strings bytewise), so the same state gives the
 * same bytes.  Reading executes nothing: the decoder checks every tag, every
 * count and length against the bytes left BEFORE anything is allocated from
 * it, nests at most SAE_CKPT_MAX_DEPTH tables, refuses duplicate keys and
 * trailing bytes, and names the byte offset of what is wrong.  The format
 * before this one ("-- saelab checkpoint 1") was a Lua chunk, run to read
 * it; it is refused, and no reader of it is kept.
 *
 * This file and lsae_checkpoint.c need only Lua (no GSL, no libsaelab), so
 * the fuzz harness (tests/fuzz/fuzz_checkpoint.c) builds them alone. */
#ifndef LSAE_CHECKPOINT_H
#define LSAE_CHECKPOINT_H

#include <stddef.h>
#include <lua.h>

#define SAE_CKPT_HEADER "saelab checkpoint 2\n"
#define SAE_CKPT_MAX_DEPTH 64 /* tables inside tables, the top one included */

/* Decode the n bytes of buf (a whole file, header included).  On success
 * pushes the top table and returns 0.  On failure pushes nothing, writes one
 * line to err ("damaged checkpoint at byte 1234: string length ... exceeds
 * the 18 bytes left", "an old saelab checkpoint ...") and returns 1.  Lua
 * may raise a memory error (every allocation is bounded by n).
 * [-0, +(0|1), m] */
int sae_ckpt_decode(lua_State *L, const unsigned char *buf, size_t n, char *err, size_t errlen);

/* Encode the table at idx; on success pushes the file's bytes as a string
 * and returns 0.  On failure (a function, userdata or boolean key, tables
 * nested deeper than SAE_CKPT_MAX_DEPTH, e.g. a cycle) pushes nothing,
 * writes one line to err and returns 1.  [-0, +(0|1), m] */
int sae_ckpt_encode(lua_State *L, int idx, char *err, size_t errlen);

/* checkpoint_encode, checkpoint_decode into the table on top of the stack
 * (lsae.c's core.internal).  [-0, +0, m] */
void lsae_open_checkpoint(lua_State *L);

#endif
