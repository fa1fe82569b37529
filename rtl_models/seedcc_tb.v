// Simulation top level: the accelerator wired to the off-chip memory model.
// cocotb drives clk / rst_n / start, the host instruction port and the DRAM test hooks
// (tests/rtl/tb_accel.py). Parameters: HwConfig.verilog_params() plus DRAM_BYTES.
// Widths of the instruction word and DRAM addresses come from isa.vh (non-ANSI ports).
module seedcc_tb #(
  parameter integer LANES = 2,
  parameter integer PIXELS = 4,
  parameter integer ACT_BYTES = 65536,
  parameter integer MASK_BYTES = 32768,
  parameter integer PARAM_BYTES = 8192,
  parameter integer ACC_WORDS = 16384,
  parameter integer INSTR_WORDS = 1024,
  parameter integer BUS_BYTES = 8,
  parameter integer DMA_LATENCY = 4,
  parameter integer DRAM_BYTES = 1048576
) (
  clk,
  rst_n,
  start,
  done,
  err,
  busy,
  cycles,
  pc,
  host_imem_we,
  host_imem_addr,
  host_imem_wdata,
  dram_load,
  dram_dump,
  dram_dump_lo,
  dram_dump_hi
);
`include "isa.vh"
  input  wire                     clk;
  input  wire                     rst_n;
  input  wire                     start;
  output wire                     done;
  output wire                     err;
  output wire                     busy;
  output wire [63:0]              cycles;
  output wire [31:0]              pc;
  input  wire                     host_imem_we;
  input  wire [31:0]              host_imem_addr;
  input  wire [ISA_WORD_BITS-1:0] host_imem_wdata;
  input  wire                     dram_load;
  input  wire                     dram_dump;
  input  wire [31:0]              dram_dump_lo;
  input  wire [31:0]              dram_dump_hi;

  wire                   rd_req, rd_valid, wr_req;
  wire [F_DRAM_ADDR_W-1:0] rd_addr, wr_addr;
  wire [BUS_BYTES*8-1:0] rd_data, wr_data;
  wire [BUS_BYTES-1:0]   wr_be;

  seedcc_accel #(
    .LANES(LANES), .PIXELS(PIXELS), .ACT_BYTES(ACT_BYTES), .MASK_BYTES(MASK_BYTES),
    .PARAM_BYTES(PARAM_BYTES), .ACC_WORDS(ACC_WORDS), .INSTR_WORDS(INSTR_WORDS),
    .BUS_BYTES(BUS_BYTES), .DMA_LATENCY(DMA_LATENCY)
  ) u_accel (
    .clk(clk), .rst_n(rst_n), .start(start), .done(done), .err(err), .busy(busy),
    .cycles(cycles), .pc(pc),
    .host_imem_we(host_imem_we), .host_imem_addr(host_imem_addr), .host_imem_wdata(host_imem_wdata),
    .dram_rd_req(rd_req), .dram_rd_addr(rd_addr), .dram_rd_valid(rd_valid), .dram_rd_data(rd_data),
    .dram_wr_req(wr_req), .dram_wr_addr(wr_addr), .dram_wr_data(wr_data), .dram_wr_be(wr_be)
  );

  seedcc_dram #(.BUS_BYTES(BUS_BYTES), .LATENCY(DMA_LATENCY), .DRAM_BYTES(DRAM_BYTES)) u_dram (
    .clk(clk), .rd_req(rd_req), .rd_addr(rd_addr), .rd_valid(rd_valid), .rd_data(rd_data),
    .wr_req(wr_req), .wr_addr(wr_addr), .wr_data(wr_data), .wr_be(wr_be),
    .load(dram_load), .dump(dram_dump), .dump_lo(dram_dump_lo), .dump_hi(dram_dump_hi)
  );
endmodule
