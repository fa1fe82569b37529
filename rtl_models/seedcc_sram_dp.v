// An SRAM macro as a memory compiler gives it (docs/rtl.md "Memories"): WORDS words of
// LANES lanes of WIDTH bits, port A read or write (a write enable per lane), port B
// read only. Reads are registered: the word addressed in one cycle is on the port's
// `rdata` in the next (and stays there until the next enabled read). A write and a read of
// the same word in the same cycle are not used by the accelerator; port B then reads the
// old word.
// Synthesis keeps it as one memory of WORDS x LANES*WIDTH bits with one write port and two
// registered read ports (seedcc.synth counts it as an SRAM macro).
module seedcc_sram_dp #(
  parameter integer WORDS = 16,
  parameter integer LANES = 4,
  parameter integer WIDTH = 32,
  parameter integer ADDR_W = 4
) (
  input  wire                      clk,
  input  wire                      a_en,      // port A: read (a_we == 0) or write lanes
  input  wire [LANES-1:0]          a_we,
  input  wire [ADDR_W-1:0]         a_addr,
  input  wire [LANES*WIDTH-1:0]    a_wdata,
  output reg  [LANES*WIDTH-1:0]    a_rdata,
  input  wire                      b_en,      // port B: read
  input  wire [ADDR_W-1:0]         b_addr,
  output reg  [LANES*WIDTH-1:0]    b_rdata
);
  reg [LANES*WIDTH-1:0] mem [0:WORDS-1];
  integer l;
  always @(posedge clk) begin
    if (a_en) begin
      if (~|a_we) a_rdata <= mem[a_addr];
      for (l = 0; l < LANES; l = l + 1)
        if (a_we[l]) mem[a_addr][l*WIDTH +: WIDTH] <= a_wdata[l*WIDTH +: WIDTH];
    end
    if (b_en) b_rdata <= mem[b_addr];
  end
endmodule
