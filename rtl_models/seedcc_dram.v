// Testbench-side off-chip memory model (not part of the accelerator).
//
// A byte array of DRAM_BYTES bytes with the accelerator's memory interface: a read
// request (any byte address) returns BUS_BYTES consecutive bytes exactly LATENCY cycles
// later (a pipeline of LATENCY registers, so one request a cycle is sustained); a write
// beat stores the enabled bytes at the clock edge. Bytes beyond the array read as 0.
// Test hooks (sampled at the clock edge): `load` reads the image file
// seedcc_dram_in.hex (one byte a line, $readmemh) from the simulator's working
// directory; `dump` writes bytes dump_lo..dump_hi to seedcc_dram_out.hex ($writememh).
module seedcc_dram #(
  parameter integer BUS_BYTES = 8,
  parameter integer LATENCY = 4,
  parameter integer DRAM_BYTES = 1048576
) (
  input  wire                   clk,
  input  wire                   rd_req,
  input  wire [31:0]            rd_addr,
  output wire                   rd_valid,
  output wire [BUS_BYTES*8-1:0] rd_data,
  input  wire                   wr_req,
  input  wire [31:0]            wr_addr,
  input  wire [BUS_BYTES*8-1:0] wr_data,
  input  wire [BUS_BYTES-1:0]   wr_be,
  input  wire                   load,
  input  wire                   dump,
  input  wire [31:0]            dump_lo,
  input  wire [31:0]            dump_hi
);
  reg [7:0] mem [0:DRAM_BYTES-1];
  reg [BUS_BYTES*8-1:0] pipe_data [0:LATENCY-1];
  reg [LATENCY-1:0]     pipe_valid;


  assign rd_valid = pipe_valid[LATENCY-1];
  assign rd_data = pipe_data[LATENCY-1];

  integer k;
  // The read happens in the request cycle (in a clocked block: no combinational read of
  // the big array, which keeps Icarus' elaboration fast).
  always @(posedge clk) begin
    for (k = 0; k < BUS_BYTES; k = k + 1)
      pipe_data[0][k*8 +: 8] <= (rd_addr + k < DRAM_BYTES) ? mem[rd_addr + k] : 8'd0;
    pipe_valid[0] <= rd_req;
    for (k = 1; k < LATENCY; k = k + 1) begin
      pipe_data[k] <= pipe_data[k-1];
      pipe_valid[k] <= pipe_valid[k-1];
    end
    if (wr_req)
      for (k = 0; k < BUS_BYTES; k = k + 1)
        if (wr_be[k] && wr_addr + k < DRAM_BYTES) mem[wr_addr + k] <= wr_data[k*8 +: 8];
    if (load) $readmemh("seedcc_dram_in.hex", mem);
    if (dump) $writememh("seedcc_dram_out.hex", mem, dump_lo, dump_hi);
  end

  initial pipe_valid = {LATENCY{1'b0}};
endmodule
