//! player placeholder
pub struct Player;
pub struct PlayerConfig;
pub enum PlayerEvent {}
pub enum PlayerState {}
pub enum VideoOutput {}
