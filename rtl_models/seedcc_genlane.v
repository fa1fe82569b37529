// One weight-generator lane: a LANE_STATE_BITS (64-bit) state register and the step/bits
// logic of every generator the ISA can select (docs/generators.md, rtl_models/generators.py;
// the ids GEN_* are generated into hwfacts.vh from the registry):
//   GEN_XORSHIFT16  state[15:0]:  s ^= s<<7; s ^= s>>9; s ^= s<<8 (16 bit); bits = s
//   GEN_XORSHIFT32  state[31:0]:  s ^= s<<13; s ^= s>>17; s ^= s<<5 (32 bit);
//                                 bits = s[15:0] ^ s[31:16]
//   GEN_CTRHASH32   key = state[63:32], ctr = state[31:0]: ctr += 1;
//                                 bits = mix32(key ^ ctr)[15:0]  (lowbias32 hash)
//   any other id:   the state holds and bits are 0 (the decoder rejects such a SETGEN).
// Bits unused by a generator are kept unchanged. `bits` (GROUP of them) is combinational:
// the sign bits of the step being taken this cycle (the lane is stepped *before* each use),
// so a MAC cycle that asserts `step` consumes `bits` and the register moves on at the clock
// edge. Non-ANSI ports so that the widths can use hwfacts.vh.
module seedcc_genlane (
  clk,
  rst_n,
  load,
  load_state,
  load_gen,
  restart,
  step,
  bits,
  state,
  gen
);
`include "hwfacts.vh"
  input  wire                       clk;
  input  wire                       rst_n;
  input  wire                       load;        // SETGEN: start <= load_state, gen <= load_gen, state <= load_state
  input  wire [LANE_STATE_BITS-1:0] load_state;
  input  wire [GEN_ID_BITS-1:0]     load_gen;
  input  wire                       restart;     // state <= start (every pixel tile of a MAC)
  input  wire                       step;        // state <= next
  output wire [GROUP-1:0]           bits;
  output reg  [LANE_STATE_BITS-1:0] state;
  output reg  [GEN_ID_BITS-1:0]     gen;

  reg [LANE_STATE_BITS-1:0] start;
  reg [LANE_STATE_BITS-1:0] nxt;
  reg [GROUP-1:0] nbits;

  // x * C mod 2^32 for mix32's constants C, as the shift-and-add it is: C's canonical signed
  // digits (non-adjacent form; a digit at 2^31 is the same mod 2^32 whatever its sign), so
  // 12 and 13 shifted copies of x instead of popcount(C) = 21 and 14, and no $mul. One sum
  // each, which Yosys keeps as one multi-operand adder (alumacc's $macc, a carry-save tree),
  // about as deep as the array multiplier by a constant it replaces (a lane alone: longest
  // path 123 cells against 120, 5,321 NAND2 equivalents against 6,444).
  //   0x7feb352d = 2^31 + 2^14 + 2^10 + 2^8 + 2^6 + 2^0 - 2^20 - 2^18 - 2^16 - 2^12 - 2^4 - 2^2
  //   0x846ca68b = 2^31 + 2^26 + 2^23 + 2^15 + 2^13 + 2^11 + 2^7 + 2^4
  //                - 2^20 - 2^18 - 2^9 - 2^2 - 2^0
  function [31:0] mul_mix1(input [31:0] x);
    mul_mix1 = (x << 31) + (x << 14) + (x << 10) + (x << 8) + (x << 6) + x
             - (x << 20) - (x << 18) - (x << 16) - (x << 12) - (x << 4) - (x << 2);
  endfunction
  function [31:0] mul_mix2(input [31:0] x);
    mul_mix2 = (x << 31) + (x << 26) + (x << 23) + (x << 15) + (x << 13) + (x << 11)
             + (x << 7) + (x << 4) - (x << 20) - (x << 18) - (x << 9) - (x << 2) - x;
  endfunction

  // The low GROUP bits of mix32(v), the lowbias32 hash: all that a step uses.
  function [GROUP-1:0] mix32_lo(input [31:0] v);
    reg [31:0] x;
    begin
      x = v ^ (v >> 16);
      x = mul_mix1(x);  // x * 0x7feb352d
      x = x ^ (x >> 15);
      x = mul_mix2(x);  // x * 0x846ca68b
      x = x ^ (x >> 16);
      mix32_lo = x[GROUP-1:0];
    end
  endfunction

  reg [15:0] s16;
  reg [31:0] s32;
  always @* begin
    nxt = state;
    nbits = {GROUP{1'b0}};
    s16 = state[15:0];
    s32 = state[31:0];
    case (gen)
      GEN_XORSHIFT16: begin
        s16 = s16 ^ (s16 << 7);
        s16 = s16 ^ (s16 >> 9);
        s16 = s16 ^ (s16 << 8);
        nxt = {state[LANE_STATE_BITS-1:16], s16};
        nbits = s16;
      end
      GEN_XORSHIFT32: begin
        s32 = s32 ^ (s32 << 13);
        s32 = s32 ^ (s32 >> 17);
        s32 = s32 ^ (s32 << 5);
        nxt = {state[LANE_STATE_BITS-1:32], s32};
        nbits = s32[15:0] ^ s32[31:16];
      end
      GEN_CTRHASH32: begin
        s32 = state[31:0] + 32'd1;
        nxt = {state[LANE_STATE_BITS-1:32], s32};
        nbits = mix32_lo(state[63:32] ^ s32);
      end
      default: begin
        nxt = state;
        nbits = {GROUP{1'b0}};
      end
    endcase
  end
  assign bits = nbits;

  always @(posedge clk) begin
    if (!rst_n) begin
      start <= {LANE_STATE_BITS{1'b0}};
      state <= {LANE_STATE_BITS{1'b0}};
      gen <= {GEN_ID_BITS{1'b0}};
    end else if (load) begin
      start <= load_state;
      state <= load_state;
      gen <= load_gen;
    end else if (restart) begin
      state <= start;
    end else if (step) begin
      state <= nxt;
    end
  end
endmodule
