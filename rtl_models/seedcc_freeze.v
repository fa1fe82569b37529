// Freeze registers: the DESIGN §4 freeze draw, one FREEZE_STATE_BITS xorshift16 register per
// output channel of the array (docs/isa.md SETFRZ, docs/rtl.md).
//
// The draw of a tensor is one stream in canonical (O, I, KH, KW) order, so channel o's
// positions of an input-channel split from i0 are draws o*I*KH*KW + i0*KH*KW + t, t = 0, 1, ...
// in exactly the MAC's step order. The compiler primes channel o's register with the state
// before its first draw (jump-ahead); stepped in lockstep with the weight lanes it then
// yields that channel's status every MAC step:
//   u = step(state)  (stepped before each draw, like a lane)
//   pruned = u < prune_thr;  locked = !pruned && u >= lock_thr;  free otherwise.
// SETFRZ loads FREEZE_STATES_PER_WORD channels per cycle from one LANE_STATE_BITS param
// word (channel FREEZE_STATES_PER_WORD*w + m in bits [16m +: 16]) into both the start and
// the running register; `restart` (every pixel tile) reloads the running registers.
// Non-ANSI ports so that the widths can use isa.vh and hwfacts.vh.
module seedcc_freeze #(
  parameter integer NCH = 32
) (
  clk,
  rst_n,
  load,
  load_word,
  load_data,
  load_thr,
  prune_in,
  lock_in,
  restart,
  step,
  pruned,
  locked
);
`include "isa.vh"
`include "hwfacts.vh"
  localparam integer SW = FREEZE_STATE_BITS;
  localparam integer PER = FREEZE_STATES_PER_WORD;

  input  wire                       clk;
  input  wire                       rst_n;
  input  wire                       load;       // channels PER*load_word .. +PER-1 <= load_data
  input  wire [F_CHANNELS_W-1:0]    load_word;  // < channels: a SETFRZ word index
  input  wire [LANE_STATE_BITS-1:0] load_data;
  input  wire                       load_thr;   // thresholds <= prune_in, lock_in
  input  wire [SW:0]                prune_in;
  input  wire [SW:0]                lock_in;
  input  wire                       restart;    // state <= start
  input  wire                       step;       // state <= step(state)
  output reg  [NCH-1:0]             pruned;     // status of the draw taken this cycle
  output reg  [NCH-1:0]             locked;

  reg [SW-1:0] start [0:NCH-1];
  reg [SW-1:0] state [0:NCH-1];
  reg [SW:0]   prune_thr, lock_thr;

  function [SW-1:0] xs16(input [SW-1:0] v);
    reg [SW-1:0] s;
    begin
      s = v ^ (v << 7);
      s = s ^ (s >> 9);
      xs16 = s ^ (s << 8);
    end
  endfunction

  reg [SW-1:0] u;
  integer c;
  always @* begin
    for (c = 0; c < NCH; c = c + 1) begin
      u = xs16(state[c]);
      pruned[c] = {1'b0, u} < prune_thr;
      locked[c] = !({1'b0, u} < prune_thr) && ({1'b0, u} >= lock_thr);
    end
  end

  integer k;
  always @(posedge clk) begin
    if (!rst_n) begin
      for (k = 0; k < NCH; k = k + 1) begin
        start[k] <= {SW{1'b0}};
        state[k] <= {SW{1'b0}};
      end
      prune_thr <= {(SW+1){1'b0}};
      lock_thr <= {(SW+1){1'b0}};
    end else begin
      if (load_thr) begin
        prune_thr <= prune_in;
        lock_thr <= lock_in;
      end
      if (load) begin
        for (k = 0; k < NCH; k = k + 1)
          if (k / PER == {{(32-F_CHANNELS_W){1'b0}}, load_word}) begin  // word of channel k
            start[k] <= load_data[(k % PER)*SW +: SW];
            state[k] <= load_data[(k % PER)*SW +: SW];
          end
      end else if (restart) begin
        for (k = 0; k < NCH; k = k + 1) state[k] <= start[k];
      end else if (step) begin
        for (k = 0; k < NCH; k = k + 1) state[k] <= xs16(state[k]);
      end
    end
  end
endmodule
